//! `p12::open` with [`PASSWORD`], for inputs of at most
//! [`MAX_FUZZ_ITERATIONS`]; then what `verify` and `restore` read.
//!
//! The body is `certsafe::fuzzing::p12_open`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::p12_open(data));
