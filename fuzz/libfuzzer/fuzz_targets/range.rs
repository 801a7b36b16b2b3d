#![no_main]
//! `etag_fuzz::range`: see its documentation for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| etag_fuzz::range(data));
