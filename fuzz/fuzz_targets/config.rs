//! config.toml text → `Config` through `config::load` (confy), then what is
//! derived from it; a configuration that loads is stored back (confy) and
//! must load to the same value.
//!
//! The body is `certsafe::fuzzing::config`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::config(data));
