//! Invalid configuration stops the binary with one message naming the key, origin and fix.

use std::time::Duration;

use servicekit_tests::{ServiceProcess, binary};

fn fails_with(env: &[(&str, &str)], expected: &[&str]) {
    let exe = binary("student-service", "student-service");
    let mut service = ServiceProcess::start(&exe, env);
    let status = service.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(1));
    let stderr = service.stderr();
    for text in expected {
        assert!(stderr.contains(text), "missing {text:?} in:\n{stderr}");
    }
}

#[test]
fn a_bad_structured_variable_is_named() {
    fails_with(
        &[("SERVICEKIT__SERVER__REQUEST_TIMEOUT", "soon")],
        &[
            "`server.request_timeout`",
            "environment variable `SERVICEKIT__SERVER__REQUEST_TIMEOUT`",
            "fix:",
        ],
    );
}

#[test]
fn a_bad_conventional_variable_is_named() {
    fails_with(
        &[("RUST_LOG", "info,[[")],
        &["`log.level`", "environment variable `RUST_LOG`"],
    );
}

#[test]
fn a_bad_file_value_is_named_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("default.toml"),
        "[database]\nmax_connections = \"lots\"\n",
    )
    .unwrap();
    let dir_str = dir.path().to_str().unwrap();
    fails_with(
        &[("SERVICEKIT_CONFIG_DIR", dir_str)],
        &["`database.max_connections`", "default.toml", dir_str],
    );
}

#[test]
fn an_unknown_key_in_the_environment_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.toml"), "[server]\nprot = 80\n").unwrap();
    fails_with(
        &[
            ("SERVICEKIT_CONFIG_DIR", dir.path().to_str().unwrap()),
            ("SERVICEKIT_ENV", "prod"),
        ],
        &["`server.prot`", "prod.toml"],
    );
}

#[test]
fn a_bad_app_setting_is_named() {
    fails_with(
        &[("SERVICEKIT__APP__MAX_PAGE_SIZE", "-3")],
        &["`app.max_page_size`", "SERVICEKIT__APP__MAX_PAGE_SIZE"],
    );
}
