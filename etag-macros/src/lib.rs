//! Implementation detail of the `etag-runtime` crate: depend on `etag-runtime`, which
//! re-exports these macros with their documentation.

use proc_macro::TokenStream;

/// Placeholder.
#[proc_macro_attribute]
pub fn etag(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Placeholder.
#[proc_macro_derive(Versioned, attributes(version, last_modified, versioned))]
pub fn derive_versioned(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
