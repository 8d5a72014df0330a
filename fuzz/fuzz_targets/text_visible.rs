//! `text::visible`: no unsafe character comes out; clean text comes back
//! borrowed and unchanged; escaping its own output changes nothing.
//!
//! The body is `certsafe::fuzzing::text_visible`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::text_visible(data));
