#![no_main]
//! `etag_fuzz::sealed_tags`: see its documentation for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| etag_fuzz::sealed_tags(data));
