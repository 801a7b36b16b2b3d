#![no_main]
//! `etag_fuzz::etag`: see its documentation for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| etag_fuzz::etag(data));
