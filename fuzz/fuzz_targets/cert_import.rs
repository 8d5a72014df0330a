//! Certificate import: `trust::read_certs` (PEM, DER, PKCS#7, S/MIME) and
//! `identity::read_certificates`, then what the lists read of each.
//!
//! The body is `certsafe::fuzzing::cert_import`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::cert_import(data));
