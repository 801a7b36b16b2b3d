#![no_main]
//! `etag_fuzz::coded_tags`: see its documentation for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| etag_fuzz::coded_tags(data));
