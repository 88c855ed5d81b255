//! cargo fuzz entry point of [`servicekit_fuzz::problem_json`]; the target's code and properties live
//! in `fuzz/src/problem_json.rs`, where `cargo test` also replays the committed corpus.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| servicekit_fuzz::problem_json::run(data));
