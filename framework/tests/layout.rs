//! The crate's naming and module-layout conventions (STYLE.md practices 1 and 16), checked on
//! the source so that a new type or module that breaks them fails the build's tests:
//!
//! - one public type per name across the crate (no `server::FooLayer` next to a
//!   `client::FooLayer`);
//! - tower's names: `impl Layer<S> for FooLayer` produces `Foo<S>`;
//! - folder modules use `mod.rs` (no `foo.rs` beside a `foo/` folder) and no module is named
//!   like its parent (`foo/foo.rs`);
//! - metric names are constants of `telemetry/catalog.rs`, never literals at emission sites.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string()
}

/// The identifier at the start of `rest`.
fn ident(rest: &str) -> &str {
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn every_public_type_name_is_used_once() {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in sources() {
        for line in fs::read_to_string(&path).unwrap().lines() {
            let line = line.trim_start();
            for kind in ["pub struct ", "pub enum ", "pub trait ", "pub type "] {
                if let Some(rest) = line.strip_prefix(kind) {
                    seen.entry(ident(rest).to_string())
                        .or_default()
                        .push(relative(&path));
                }
            }
        }
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(
        duplicates.is_empty(),
        "public types with the same name in different modules: {duplicates:#?}"
    );
}

#[test]
fn every_layer_named_foo_layer_produces_foo() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for path in sources() {
        let text = fs::read_to_string(&path).unwrap();
        let mut layer = None;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("impl") && line.contains(" Layer<S> for ") {
                let after = line.split(" Layer<S> for ").nth(1).unwrap();
                layer = Some(ident(after).to_string());
            } else if let (Some(name), Some(rest)) =
                (layer.take(), line.strip_prefix("type Service = "))
            {
                let service = ident(rest);
                checked += 1;
                if name.strip_suffix("Layer") != Some(service) {
                    wrong.push(format!("{}: {name} -> {service}", relative(&path)));
                }
            } else if layer.is_some() && !line.is_empty() {
                layer = None;
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} layers found; is the scan broken?"
    );
    assert!(
        wrong.is_empty(),
        "layers not named after their service: {wrong:#?}"
    );
}

#[test]
fn folder_modules_use_mod_rs_and_no_module_repeats_its_parent() {
    let mut wrong = Vec::new();
    for path in sources() {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let parent = path.parent().unwrap();
        if stem != "mod" && stem != "lib" && parent.join(stem).is_dir() {
            wrong.push(format!(
                "{} beside a folder of the same name",
                relative(&path)
            ));
        }
        if parent.file_name().is_some_and(|p| p == stem) {
            wrong.push(format!("{} is named like its parent", relative(&path)));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Every metric name lives in `telemetry/catalog.rs` (issue 14, item 5): emission sites name
/// their metrics through its constants, only its `describe()` gives HELP texts, and no other
/// file spells a servicekit metric name.
#[test]
fn metric_names_come_from_the_catalog() {
    const CATALOG: &str = "src/telemetry/catalog.rs";
    let emitters = ["counter!(", "gauge!(", "histogram!("];
    let describers = [
        "describe_counter!(",
        "describe_gauge!(",
        "describe_histogram!(",
    ];
    let prefixes = ["\"servicekit_", "\"http_server_"];
    let mut emissions = 0;
    let mut wrong = Vec::new();
    for path in sources() {
        let file = relative(&path);
        if file == CATALOG {
            continue;
        }
        // Comments may show metric code as examples; only code counts.
        let code: String = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (at, _) in code.match_indices("!(") {
            let before = &code[..at + 2];
            let Some(mac) = emitters.iter().find(|m| before.ends_with(*m)) else {
                continue;
            };
            if describers.iter().any(|d| before.ends_with(d)) {
                wrong.push(format!(
                    "{file}: `{mac}..` describes a metric outside the catalog"
                ));
                continue;
            }
            emissions += 1;
            if code[at + 2..].trim_start().starts_with('"') {
                wrong.push(format!("{file}: `{mac}\"..` names a metric with a literal"));
            }
        }
        for prefix in prefixes {
            if code.contains(prefix) {
                wrong.push(format!(
                    "{file}: a {prefix}..\" literal outside the catalog"
                ));
            }
        }
    }
    assert!(
        emissions >= 20,
        "only {emissions} metric macros found; is the scan broken?"
    );
    assert!(
        wrong.is_empty(),
        "metric names must be constants of {CATALOG}: {wrong:#?}"
    );
}

/// Configuration sits above the concerns (STYLE.md practice 15): each concern defines and
/// validates its own section (`server::ServerConfig`, `db::DatabaseConfig`, ...) and `config`
/// only loads, layers and aggregates them. A concern that imported `crate::config` would bring
/// back the import cycle in which every concern depended on every other through `config`.
#[test]
fn concerns_do_not_import_config() {
    // `service` and `testing` sit above `config`; the crate root and the prelude re-export.
    let above = ["src/config/", "src/service/", "src/testing/"];
    let roots = ["src/lib.rs", "src/prelude.rs"];
    let mut wrong = Vec::new();
    for path in sources() {
        let name = relative(&path);
        if above.iter().any(|a| name.starts_with(a)) || roots.contains(&name.as_str()) {
            continue;
        }
        for (i, line) in fs::read_to_string(&path).unwrap().lines().enumerate() {
            if line.contains("crate::config") {
                wrong.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "concerns import `crate::config`; move what they need into the concern and let config \
         re-export it (config depends on the concerns, never the reverse): {wrong:#?}"
    );
}
