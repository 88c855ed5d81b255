//! The leaf values of the layered configuration, by dotted key.

use figment::Figment;
use figment::value::{Dict, Value};

/// Every value set by some source (not the built-in defaults), tables flattened into dotted
/// keys (`database.url`); arrays count as one value. Empty if the sources do not parse (the
/// extraction reports that).
pub(crate) fn leaves(figment: &Figment) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Ok(dict) = figment.extract::<Dict>() {
        walk("", &dict, &mut out);
    }
    out
}

fn walk(prefix: &str, dict: &Dict, out: &mut Vec<(String, Value)>) {
    for (name, value) in dict {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Dict(_, inner) => walk(&key, inner, out),
            other => out.push((key, other.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};

    use super::*;

    #[test]
    fn tables_flatten_into_dotted_keys() {
        let figment = Figment::from(Toml::string(
            "[server]\nport = 1\n[app.nested]\nlist = [1, 2]\nname = \"x\"\n",
        ));
        let keys: Vec<String> = leaves(&figment).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["app.nested.list", "app.nested.name", "server.port"]);
    }
}
