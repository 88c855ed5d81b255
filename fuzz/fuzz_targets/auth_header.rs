//! cargo fuzz entry point of [`servicekit_fuzz::auth_header`]; the target's code and properties live
//! in `fuzz/src/auth_header.rs`, where `cargo test` also replays the committed corpus.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| servicekit_fuzz::auth_header::run(data));
