//! `backup::default_file_name`. Input: 4 bytes of date (days from
//! 0000-01-01, within the years 0-9999), then the label (UTF-8, lossy).
//! The name is one FAT-safe file name without control, whitespace or
//! terminal-unsafe characters, fits 255 bytes (ext4) and 255 UTF-16 units
//! (FAT, exFAT), and reads `certsafe-…-YYYY-MM-DD.p12`.
//!
//! The body is `certsafe::fuzzing::backup_name`, which tests/fuzz_corpus.rs also
//! runs over the seeds and the saved crashes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| certsafe::fuzzing::backup_name(data));
