//! The arguments of `#[etag(...)]`.

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{LitInt, LitStr, Token};

use crate::errors::{Errors, did_you_mean, skip_value};
use crate::runtime_path::{RuntimePath, parse_crate_path};

/// Every argument, as the user writes it.
const HASH: &str = "hash";
const REQUIRE_PRECONDITION: &str = "require_precondition";
const REQUIRE_ENTITY_TAG: &str = "require_entity_tag";
const CACHE_CONTROL: &str = "cache_control";
const ERROR: &str = "error";
const CRATE: &str = "crate";
const PER_USER: &str = "per_user";
const LIMIT: &str = "limit";
/// Not an argument: weakness belongs where a tag is made. Named for its hint.
const WEAK: &str = "weak";

const KEYS: &[&str] = &[
    HASH,
    REQUIRE_PRECONDITION,
    REQUIRE_ENTITY_TAG,
    CACHE_CONTROL,
    ERROR,
    PER_USER,
    CRATE,
];
const EXPECTED: &str = "expected one of: `hash`, `hash(limit = <bytes>)`, `require_precondition`, `require_entity_tag`, `cache_control = \"...\"`, `error = <type>`, `per_user = <argument>`, `crate = \"...\"`";

/// Where the validators come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// From the returned value, before it is rendered.
    Value,
    /// `hash`: from the rendered body, buffered up to `limit` bytes (the runtime's
    /// default when `None`).
    Hash { limit: Option<usize> },
}

/// Whether a write must carry a precondition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Require {
    /// No: a write without one is unconditional.
    Nothing,
    /// `require_precondition`: `If-Match`, `If-Unmodified-Since` or `If-None-Match: *`.
    Precondition,
    /// `require_entity_tag`: `If-Match` or `If-None-Match: *` only.
    EntityTag,
}

/// The parsed `#[etag(...)]` arguments.
#[derive(Clone)]
pub(crate) struct Args {
    pub(crate) mode: Mode,
    pub(crate) require_precondition: Require,
    pub(crate) cache_control: Option<LitStr>,
    /// `error = T`: the type the 412s and 428s of the handler are rendered through.
    pub(crate) error: Option<syn::Type>,
    /// `per_user = arg`: the handler's argument that extracts the principal.
    pub(crate) per_user: Option<syn::Ident>,
    pub(crate) runtime: RuntimePath,
}

/// Parses the arguments, recording every mistake in `errors` and going on where it can.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args {
        mode: Mode::Value,
        require_precondition: Require::Nothing,
        cache_control: None,
        error: None,
        per_user: None,
        runtime: RuntimePath::default(),
    };
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let Some(key) = meta.path.get_ident().map(ToString::to_string) else {
            errors.spanned(
                &meta.path,
                format!("unknown `#[etag(...)]` argument; {EXPECTED}"),
            );
            return skip_value(meta.input);
        };
        if key == WEAK {
            errors.spanned(
                &meta.path,
                "`weak` is not an `#[etag(...)]` argument: a tag is made weak where it is made, with `#[versioned(weak)]` on the model or `ETag::into_weak` on a tag you build",
            );
            return skip_value(meta.input);
        }
        if !KEYS.contains(&key.as_str()) {
            errors.spanned(
                &meta.path,
                format!(
                    "unknown `#[etag(...)]` argument `{key}`; {EXPECTED}{}",
                    did_you_mean(&key, KEYS)
                ),
            );
            return skip_value(meta.input);
        }
        if seen.contains(&key) {
            errors.spanned(
                &meta.path,
                format!("duplicate `#[etag(...)]` argument `{key}`"),
            );
            return skip_value(meta.input);
        }
        seen.push(key.clone());
        match key.as_str() {
            HASH => {
                let mut limit = None;
                if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|inner| {
                        if !inner.path.is_ident(LIMIT) {
                            errors.spanned(
                                &inner.path,
                                "unknown `hash(...)` option; expected `hash(limit = <bytes>)`",
                            );
                            return skip_value(inner.input);
                        }
                        if limit.is_some() {
                            errors.spanned(&inner.path, "duplicate `hash(limit = ...)`");
                            return skip_value(inner.input);
                        }
                        let lit: LitInt = inner.value()?.parse().map_err(|e| {
                            syn::Error::new(
                                e.span(),
                                "expected the most body bytes to hash as an integer literal, for example `hash(limit = 1048576)`",
                            )
                        })?;
                        match parse_limit(&lit) {
                            Ok(n) => limit = Some(n),
                            Err(e) => errors.push(e),
                        }
                        Ok(())
                    })?;
                } else {
                    no_value(&meta.path, meta.input, HASH, errors)?;
                }
                args.mode = Mode::Hash { limit };
            }
            ERROR => {
                if !meta.input.peek(Token![=]) {
                    return Err(syn::Error::new_spanned(
                        &meta.path,
                        "expected a type, for example `error = ApiError`",
                    ));
                }
                let ty: syn::Type = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(e.span(), "expected a type, for example `error = ApiError`")
                })?;
                args.error = Some(ty);
            }
            PER_USER => {
                const HINT: &str = "expected the name of the handler's argument that extracts the principal, for example `per_user = caller` for `caller: Caller`";
                if !meta.input.peek(Token![=]) {
                    return Err(syn::Error::new_spanned(&meta.path, HINT));
                }
                let ident: syn::Ident = meta
                    .value()?
                    .parse()
                    .map_err(|e| syn::Error::new(e.span(), HINT))?;
                args.per_user = Some(ident);
            }
            REQUIRE_PRECONDITION | REQUIRE_ENTITY_TAG => {
                let (require, other) = if key == REQUIRE_PRECONDITION {
                    (Require::Precondition, REQUIRE_ENTITY_TAG)
                } else {
                    (Require::EntityTag, REQUIRE_PRECONDITION)
                };
                if args.require_precondition != Require::Nothing
                    && args.require_precondition != require
                {
                    errors.spanned(
                        &meta.path,
                        format!("`{key}` and `{other}` exclude each other; keep one (`require_entity_tag` counts only `If-Match` and `If-None-Match: *`)"),
                    );
                }
                args.require_precondition = require;
                if meta.input.peek(syn::token::Paren) {
                    errors.spanned(
                        &meta.path,
                        format!("`{key}` takes no options; to count only `If-Match` and `If-None-Match: *`, write `require_entity_tag`"),
                    );
                    meta.parse_nested_meta(|inner| skip_value(inner.input))?;
                } else {
                    no_value(&meta.path, meta.input, &key, errors)?;
                }
            }
            CACHE_CONTROL => {
                let lit: LitStr = string_value(&meta, "cache_control = \"no-cache\"")?;
                match check_header_value(&lit) {
                    Ok(()) => args.cache_control = Some(lit),
                    Err(e) => errors.push(e),
                }
            }
            CRATE => {
                let lit: LitStr = string_value(&meta, "crate = \"my_api::etag_runtime\"")?;
                match parse_crate_path(&lit) {
                    Ok(path) => args.runtime = RuntimePath::new(Some(path)),
                    Err(e) => errors.push(e),
                }
            }
            _ => {}
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    args
}

/// A flag such as `weak` takes no value.
fn no_value(
    path: &syn::Path,
    input: ParseStream<'_>,
    key: &str,
    errors: &mut Errors,
) -> syn::Result<()> {
    if !input.is_empty() && !input.peek(Token![,]) {
        errors.spanned(
            path,
            format!("`{key}` takes no value; write `#[etag({key})]`"),
        );
        return skip_value(input);
    }
    Ok(())
}

fn string_value(meta: &syn::meta::ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("expected a string value, for example `{example}`"),
        ));
    }
    meta.value()?.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected a string literal, for example `{example}`"),
        )
    })
}

fn parse_limit(lit: &LitInt) -> syn::Result<usize> {
    if !matches!(lit.suffix(), "" | "usize") {
        return Err(syn::Error::new(
            lit.span(),
            "`hash(limit = ...)` is a number of bytes (a `usize`); drop the suffix",
        ));
    }
    lit.base10_parse::<usize>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            "`hash(limit = ...)` must fit in a `usize` (a number of bytes)",
        )
    })
}

/// The runtime writes the value with `HeaderValue::from_static`: only what a header value
/// may hold is accepted, so that it cannot fail at run time.
fn check_header_value(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    let valid = value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if valid {
        Ok(())
    } else {
        Err(syn::Error::new(
            lit.span(),
            "`cache_control` must be a valid header value: visible ASCII characters, spaces and tabs only",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(tokens: TokenStream) -> Args {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        if !errors.is_empty() {
            panic!("{}", errors.into_compile_errors());
        }
        args
    }

    fn parse_err(tokens: TokenStream) -> String {
        let mut errors = Errors::default();
        let _ = parse(tokens, &mut errors);
        assert!(!errors.is_empty());
        errors.into_compile_errors().to_string()
    }

    #[test]
    fn all_arguments() {
        let args = parse_ok(quote!(
            hash(limit = 1024),
            require_precondition,
            cache_control = "no-cache",
            error = crate::ApiError,
            per_user = caller,
            crate = "my::rt"
        ));
        assert_eq!(args.per_user.unwrap().to_string(), "caller");
        assert_eq!(args.mode, Mode::Hash { limit: Some(1024) });
        assert_eq!(args.require_precondition, Require::Precondition);
        assert_eq!(
            parse_ok(quote!(require_entity_tag)).require_precondition,
            Require::EntityTag
        );
        assert_eq!(parse_ok(quote!()).require_precondition, Require::Nothing);
        let error = args.error.unwrap();
        assert_eq!(
            quote!(#error).to_string(),
            quote!(crate::ApiError).to_string()
        );
        assert_eq!(args.cache_control.unwrap().value(), "no-cache");
        assert_eq!(
            args.runtime.private().to_string(),
            quote!(my::rt::__private).to_string()
        );
        assert_eq!(parse_ok(quote!(hash)).mode, Mode::Hash { limit: None });
        assert_eq!(parse_ok(quote!()).mode, Mode::Value);
    }

    #[test]
    fn mistakes_are_all_reported() {
        let out = parse_err(quote!(
            strong,
            require_precondition,
            require_precondition,
            hash(size = 3),
            cache_control = "a\nb"
        ));
        assert!(
            out.contains("unknown `#[etag(...)]` argument `strong`"),
            "{out}"
        );
        assert!(
            out.contains("duplicate `#[etag(...)]` argument `require_precondition`"),
            "{out}"
        );
        assert!(out.contains("unknown `hash(...)` option"), "{out}");
        assert!(out.contains("valid header value"), "{out}");
        assert!(parse_err(quote!(weak)).contains("`#[versioned(weak)]`"));
        assert!(parse_err(quote!(hsah)).contains("did you mean `hash`?"));
        assert!(parse_err(quote!(require_precondition = true)).contains("takes no value"));
        assert!(
            parse_err(quote!(require_precondition, require_entity_tag))
                .contains("exclude each other")
        );
        assert!(
            parse_err(quote!(require_precondition(strict))).contains("write `require_entity_tag`")
        );
        assert!(parse_err(quote!(error = "ApiError")).contains("expected a type"));
        assert!(parse_err(quote!(hash(limit = 3u8))).contains("drop the suffix"));
        assert!(parse_err(quote!(hash(limit = "3"))).contains("integer literal"));
        assert!(parse_err(quote!(cache_control)).contains("expected a string value"));
        assert!(parse_err(quote!(crate = "a b")).contains("is not a path"));
        assert!(parse_err(quote!(per_user)).contains("`per_user = caller`"));
        assert!(parse_err(quote!(per_user = "caller")).contains("`per_user = caller`"));
        assert!(parse_err(quote!(per_usr = caller)).contains("did you mean `per_user`?"));
    }
}
