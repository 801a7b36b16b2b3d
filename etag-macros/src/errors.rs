//! Collects every user mistake of one macro invocation, so that one build shows them all.

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// The errors found so far. Nothing here panics: a mistake is recorded and parsing goes on.
#[derive(Debug, Default)]
#[must_use = "report the errors with `into_compile_errors`"]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// An error that covers `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// One `compile_error!` per mistake.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.errors
            .into_iter()
            .map(syn::Error::into_compile_error)
            .collect()
    }
}

/// "did you mean `x`?" for a near miss among `candidates`.
pub(crate) fn did_you_mean(unknown: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (distance(unknown, c), *c))
        .filter(|(d, c)| *d <= c.len() / 3 + 1)
        .min()
        .map(|(_, c)| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur.push(substitute.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Consumes whatever follows an argument up to the next `,`, so that parsing goes on
/// after an error.
pub(crate) fn skip_value(input: syn::parse::ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(syn::Token![,]) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_near_misses() {
        let keys = ["hash", "weak", "require_precondition"];
        assert_eq!(did_you_mean("waek", &keys), "; did you mean `weak`?");
        assert_eq!(
            did_you_mean("require_preconditions", &keys),
            "; did you mean `require_precondition`?"
        );
        assert_eq!(did_you_mean("strong", &keys), "");
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn collects_every_error() {
        let mut errors = Errors::default();
        assert!(errors.is_empty());
        errors.spanned(quote::quote!(a), "first");
        errors.push(syn::Error::new(proc_macro2::Span::call_site(), "second"));
        assert!(!errors.is_empty());
        let out = errors.into_compile_errors().to_string();
        assert!(out.contains("first") && out.contains("second"), "{out}");
    }
}
