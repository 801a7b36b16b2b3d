//! Examples of etag-runtime.
