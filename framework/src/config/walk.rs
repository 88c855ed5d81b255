//! The leaf values of the layered configuration, by dotted key.

use figment::Figment;
use figment::value::{Dict, Value};

/// Every value set by some source (not the built-in defaults), tables flattened into dotted
/// keys (`database.url`) and array elements keyed by their index (`auth.issuers.0.pem`), so a
/// secret reference or a sensitive value inside an array is seen like any other. Empty if the
/// sources do not parse (the extraction reports that).
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
        visit(key, value, out);
    }
}

fn visit(key: String, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Dict(_, inner) => walk(&key, inner, out),
        Value::Array(_, items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                visit(format!("{key}.{i}"), item, out);
            }
        }
        other => out.push((key, other.clone())),
    }
}

/// `auth.issuers.0.pem` -> (`auth.issuers`, `0.pem`): the array a key lies in and the rest.
pub(crate) fn in_array(key: &str) -> Option<(&str, &str)> {
    let mut offset = 0;
    for segment in key.split('.') {
        if offset > 0 && segment.parse::<usize>().is_ok() {
            return Some((&key[..offset - 1], &key[offset..]));
        }
        offset += segment.len() + 1;
    }
    None
}

/// Replaces the value at `path` (dotted, array elements by index) inside `value`; false when
/// the path does not lead to an existing value.
pub(crate) fn replace(value: &mut Value, path: &str, new: Value) -> bool {
    let mut current = value;
    for segment in path.split('.') {
        current = match current {
            Value::Dict(_, dict) => match dict.get_mut(segment) {
                Some(next) => next,
                None => return false,
            },
            Value::Array(_, items) => {
                match segment.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    *current = new;
    true
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
        assert_eq!(
            keys,
            [
                "app.nested.list.0",
                "app.nested.list.1",
                "app.nested.name",
                "server.port"
            ]
        );
    }

    #[test]
    fn array_elements_are_keyed_by_index_and_replaceable() {
        let figment = Figment::from(Toml::string(
            "[[auth.issuers]]\nissuer = \"a\"\npem = \"file:///k.pem\"\n",
        ));
        let keys: Vec<String> = leaves(&figment).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["auth.issuers.0.issuer", "auth.issuers.0.pem"]);

        let mut issuers = figment.find_value("auth.issuers").unwrap();
        assert!(replace(&mut issuers, "0.pem", Value::from("PEM")));
        assert_eq!(
            issuers.find_ref("0"),
            None,
            "figment cannot index arrays itself"
        );
        let Value::Array(_, items) = &issuers else {
            panic!("array")
        };
        assert_eq!(items[0].find_ref("pem").unwrap().as_str(), Some("PEM"));
        assert!(!replace(&mut issuers, "3.pem", Value::from("x")));
    }
}
