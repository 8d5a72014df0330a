//! An index file's bytes (`Index::from_bytes`, what `Index::load` runs):
//! the input is the body, authenticated here with [`INDEX_KEY`] so the
//! layout checks and the lookups are reached; with one MAC bit flipped the
//! same bytes must be refused.
//!
//! The body is `certsafe::fuzzing::crl_index`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::crl_index(data));
