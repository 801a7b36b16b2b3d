//! The one place that names the runtime crate in generated code.

use proc_macro2::TokenStream;
use quote::quote;

/// Where generated code finds the runtime: `::etag_runtime`, unless the user renamed or
/// re-exported it and said so with `crate = "path"`.
#[derive(Clone, Default)]
pub(crate) struct RuntimePath {
    custom: Option<syn::Path>,
}

impl RuntimePath {
    pub(crate) fn new(custom: Option<syn::Path>) -> Self {
        Self { custom }
    }

    /// The path of the runtime's `__private` module, the only runtime module that
    /// generated code refers to.
    pub(crate) fn private(&self) -> TokenStream {
        match &self.custom {
            Some(path) => quote!(#path::__private),
            None => quote!(::etag_runtime::__private),
        }
    }
}

/// Parses the value of a `crate = "path"` argument.
pub(crate) fn parse_crate_path(lit: &syn::LitStr) -> syn::Result<syn::Path> {
    lit.parse::<syn::Path>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`crate = {:?}` is not a path; expected the path the runtime is reachable at, for example `crate = \"my_api::etag_runtime\"`",
                lit.value()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_custom_paths() {
        assert_eq!(
            RuntimePath::default().private().to_string(),
            quote!(::etag_runtime::__private).to_string()
        );
        let custom: syn::LitStr = syn::parse_quote!("my_api::etag");
        let path = parse_crate_path(&custom).unwrap();
        assert_eq!(
            RuntimePath::new(Some(path)).private().to_string(),
            quote!(my_api::etag::__private).to_string()
        );
        let bad: syn::LitStr = syn::parse_quote!("not a path");
        assert!(parse_crate_path(&bad).is_err());
    }
}
