//! `identity::read_private_key` (PKCS#8, PKCS#1, SEC1; PEM or DER; encrypted
//! with [`PASSWORD`]) and `key_is_encrypted`.
//!
//! The body is `certsafe::fuzzing::private_key`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::private_key(data));
