#![no_main]
//! `etag_fuzz::tag_list`: see its documentation for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| etag_fuzz::tag_list(data));
