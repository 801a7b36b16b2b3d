//! The helper attributes: `#[version]`, `#[last_modified]` and `#[versioned(...)]`.

use syn::{Attribute, LitStr, Meta, Token};

use crate::errors::{Errors, did_you_mean, skip_value};
use crate::runtime_path::{RuntimePath, parse_crate_path};

pub(crate) const VERSION: &str = "version";
pub(crate) const LAST_MODIFIED: &str = "last_modified";
pub(crate) const VERSIONED: &str = "versioned";
pub(crate) const GROUP_KEY: &str = "group_key";
const WEAK: &str = "weak";
const CRATE: &str = "crate";
const GROUP: &str = "group";
const CONTAINER_KEYS: &[&str] = &[WEAK, CRATE, GROUP];

/// `#[versioned(...)]` on the struct.
#[derive(Default)]
pub(crate) struct Container {
    pub(crate) weak: bool,
    pub(crate) runtime: RuntimePath,
    /// `group = "product"`: the collection's cache group.
    pub(crate) group: Option<LitStr>,
}

impl Container {
    pub(crate) fn from_attrs(attrs: &[Attribute], errors: &mut Errors) -> Self {
        let mut container = Self::default();
        for attr in attrs {
            for helper in [VERSION, LAST_MODIFIED, GROUP_KEY] {
                if attr.path().is_ident(helper) {
                    errors.spanned(
                        attr,
                        format!("`#[{helper}]` goes on a field of the struct, not on the struct"),
                    );
                }
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for attr in attrs.iter().filter(|a| a.path().is_ident(VERSIONED)) {
            let result = attr.parse_nested_meta(|meta| {
                let key = meta
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if !CONTAINER_KEYS.contains(&key.as_str()) {
                    errors.spanned(
                        &meta.path,
                        format!(
                            "unknown `#[versioned(...)]` key `{}`; expected one of: `weak`, `group = \"...\"`, `crate = \"...\"`{}",
                            quote::ToTokens::to_token_stream(&meta.path)
                                .to_string()
                                .replace(' ', ""),
                            did_you_mean(&key, CONTAINER_KEYS)
                        ),
                    );
                    return skip_value(meta.input);
                }
                if seen.contains(&key) {
                    errors.spanned(
                        &meta.path,
                        format!("duplicate `#[versioned(...)]` key `{key}`"),
                    );
                    return skip_value(meta.input);
                }
                seen.push(key.clone());
                if key == WEAK {
                    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                        errors.spanned(
                            &meta.path,
                            "`weak` takes no value; write `#[versioned(weak)]`",
                        );
                        return skip_value(meta.input);
                    }
                    container.weak = true;
                } else if key == GROUP {
                    let lit: LitStr = meta.value()?.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "expected the group's name as a string literal, for example `group = \"product\"`",
                        )
                    })?;
                    // Kept even when invalid, so that `#[group_key]` is not reported too.
                    if let Err(e) = check_group(&lit) {
                        errors.push(e);
                    }
                    container.group = Some(lit);
                } else {
                    let lit: LitStr = meta.value()?.parse()?;
                    match parse_crate_path(&lit) {
                        Ok(path) => container.runtime = RuntimePath::new(Some(path)),
                        Err(e) => errors.push(e),
                    }
                }
                Ok(())
            });
            if let Err(e) = result {
                errors.push(e);
            }
        }
        container
    }
}

/// A group name is sent as it is written: visible ASCII without the characters a group
/// name escapes (`%`, `"`, `\\`, `,`) nor `/`, which separates it from a member's key.
fn check_group(lit: &LitStr) -> syn::Result<()> {
    let value = lit.value();
    let valid = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'%' | b'"' | b'\\' | b',' | b'/'));
    if valid {
        Ok(())
    } else {
        Err(syn::Error::new(
            lit.span(),
            "a cache group's name is visible ASCII without spaces, `%`, `\"`, `\\`, `,` or `/`, for example `group = \"product\"`",
        ))
    }
}

/// The helper attributes of one field, each kept for its span.
#[derive(Default)]
pub(crate) struct FieldAttrs<'a> {
    pub(crate) version: Vec<&'a Attribute>,
    pub(crate) last_modified: Vec<&'a Attribute>,
    pub(crate) group_key: Vec<&'a Attribute>,
}

impl<'a> FieldAttrs<'a> {
    pub(crate) fn from_attrs(attrs: &'a [Attribute], errors: &mut Errors) -> Self {
        let mut out = Self::default();
        for attr in attrs {
            let name = if attr.path().is_ident(VERSION) {
                out.version.push(attr);
                VERSION
            } else if attr.path().is_ident(LAST_MODIFIED) {
                out.last_modified.push(attr);
                LAST_MODIFIED
            } else if attr.path().is_ident(GROUP_KEY) {
                out.group_key.push(attr);
                GROUP_KEY
            } else if attr.path().is_ident(VERSIONED) {
                errors.spanned(
                    attr,
                    "`#[versioned(...)]` goes on the struct; mark the field with `#[version]`",
                );
                continue;
            } else {
                continue;
            };
            match &attr.meta {
                Meta::Path(_) => {}
                Meta::List(list) => errors.spanned(
                    list,
                    format!("`#[{name}]` takes no arguments; write `#[{name}]`"),
                ),
                Meta::NameValue(nv) => {
                    errors.spanned(nv, format!("`#[{name}]` takes no value; write `#[{name}]`"))
                }
            }
        }
        out
    }
}
