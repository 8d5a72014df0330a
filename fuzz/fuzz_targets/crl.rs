//! CRL acceptance without the cache: decode (DER or PEM), parse, find the
//! signer, walk the entries, build the index, load it back: every revoked
//! serial must be found with its date and reason. Input: a 2-byte
//! big-endian length, that many bytes of CA certificate (DER), the CRL.
//!
//! The body is `certsafe::fuzzing::crl`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::crl(data));
