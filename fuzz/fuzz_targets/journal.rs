//! Fuzz target `journal`: the body is `certsafe::fuzzing::journal`, which
//! tests/fuzz_corpus.rs also runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::journal(data));
