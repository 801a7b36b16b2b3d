#![no_main]
//! `etag_fuzz::http_date`: see its documentation for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| etag_fuzz::http_date(data));
