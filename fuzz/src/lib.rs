//! servicekit's fuzz targets as plain functions, one module a target.
//!
//! `fuzz_targets/*.rs` hand libFuzzer's inputs to these functions (`scripts/fuzz`, with
//! cargo fuzz and AddressSanitizer; docs/fuzzing.md). The same functions replay the committed
//! seed corpus (`fuzz/corpus/<target>/`) as an ordinary test in `cargo test`, so every CI run
//! checks that the targets compile and that no kept input regresses, without the instrumented
//! build.

pub mod auth_header;
pub mod config;
pub mod problem_json;

#[cfg(test)]
mod corpus {
    use std::path::PathBuf;

    /// Feeds every file of `fuzz/corpus/<target>/` to `run`; a panic fails the test and names
    /// the input.
    fn replay(target: &str, run: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{} holds no seed input", dir.display());
        for input in inputs {
            let data = std::fs::read(&input).expect("corpus input");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(
                outcome.is_ok(),
                "{target}: input {} panicked",
                input.display()
            );
        }
    }

    #[test]
    fn auth_header_corpus() {
        replay("auth_header", super::auth_header::run);
    }

    #[test]
    fn config_corpus() {
        replay("config", super::config::run);
    }

    #[test]
    fn problem_json_corpus() {
        replay("problem_json", super::problem_json::run);
    }
}
