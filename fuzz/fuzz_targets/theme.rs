//! A user theme file's text → `Theme`, then every semantic style.
//!
//! The body is `certsafe::fuzzing::theme`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::theme(data));
