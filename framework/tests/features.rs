//! The heavy dependencies stay behind their features: `cargo tree` of servicekit without default
//! features holds no AWS SDK, no tonic, no PostgreSQL or MySQL driver, no governor, no OTLP
//! exporter and no Redis client, and the default features add SQLite only. `--all-features` must list them all, so
//! the check cannot pass by looking at the wrong output.

use std::collections::BTreeSet;
use std::process::Command;

/// Crate names (prefixes) that only features may bring in.
const HEAVY: [&str; 11] = [
    "aws-sdk-",
    "aws-config",
    "tonic",
    "sqlx-postgres",
    "sqlx-mysql",
    "governor",
    "opentelemetry-otlp",
    "async-nats",
    "lapin",
    "x509-parser",
    "redis",
];

/// The package names in `cargo tree -p servicekit -e normal` with `features`.
fn tree(features: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "servicekit",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}", "--locked", "--offline"])
        .args(features)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree {features:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn heavy_in(packages: &BTreeSet<String>) -> Vec<&String> {
    packages
        .iter()
        .filter(|p| HEAVY.iter().any(|h| p.starts_with(h)))
        .collect()
}

#[test]
fn no_default_features_leave_out_every_heavy_dependency() {
    let packages = tree(&["--no-default-features"]);
    assert!(
        packages.contains("axum") && packages.contains("sqlx-core"),
        "{packages:?}"
    );
    assert_eq!(heavy_in(&packages), Vec::<&String>::new());
    assert!(!packages.contains("sqlx-sqlite"), "{packages:?}");
}

#[test]
fn default_features_add_sqlite_only() {
    let packages = tree(&[]);
    assert!(packages.contains("sqlx-sqlite"), "{packages:?}");
    assert!(packages.contains("servicekit-macros"), "{packages:?}");
    assert_eq!(heavy_in(&packages), Vec::<&String>::new());
}

#[test]
fn all_features_list_every_heavy_dependency() {
    let packages = tree(&["--all-features"]);
    let found = heavy_in(&packages);
    for heavy in HEAVY {
        assert!(
            found.iter().any(|p| p.starts_with(heavy)),
            "{heavy} missing from {found:?}"
        );
    }
}
