//! `p12::inspect`: the structure read without the password.
//!
//! The body is `certsafe::fuzzing::p12_inspect`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::p12_inspect(data));
