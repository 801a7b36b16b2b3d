#![no_main]
//! `etag_fuzz::decision`: see its documentation for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| etag_fuzz::decision(data));
