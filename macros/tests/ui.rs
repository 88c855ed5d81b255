//! Compile-time tests of `#[servicekit::microservice]` and `servicekit::embed_migrations!`:
//! the cases in `tests/ui/pass` must build and run, the ones in `tests/ui/fail` must fail
//! with the errors in their `.stderr` files (`TRYBUILD=overwrite` regenerates them).

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn ui() {
    copy_migrations_fixture();
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

/// trybuild compiles the cases as a crate of its own in `<target>/tests/trybuild/servicekit-macros/`,
/// which is the `CARGO_MANIFEST_DIR` that `embed_migrations!` resolves directories against.
/// `migrations = "tests/ui/migrations"` must find the fixture there, so it is copied over.
fn copy_migrations_fixture() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project_dir = target_dir(manifest_dir)
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"));
    let destination = project_dir.join("tests").join("ui").join("migrations");
    if destination.exists() {
        std::fs::remove_dir_all(&destination).expect("remove the old copy of the fixture");
    }
    copy_dir(&manifest_dir.join("tests/ui/migrations"), &destination);
}

/// The target directory, as trybuild finds it: from `cargo metadata`.
fn target_dir(manifest_dir: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version=1"])
        .current_dir(manifest_dir)
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let target_dir = metadata["target_directory"]
        .as_str()
        .expect("cargo metadata has a target_directory");
    PathBuf::from(target_dir)
}

/// Copies the directory tree `from` to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the fixture copy");
    for entry in std::fs::read_dir(from).expect("read the fixture") {
        let entry = entry.expect("read the fixture");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("read the fixture").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy the fixture");
        }
    }
}
