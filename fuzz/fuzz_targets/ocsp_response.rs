//! Fuzz target `ocsp_response`: the body is `certsafe::fuzzing::ocsp_response`, which
//! tests/fuzz_corpus.rs also runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::ocsp_response(data));
