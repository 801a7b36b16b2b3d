//! The rules that span fields: exactly one `#[version]`, at most one `#[last_modified]`.

use super::ast::{FieldInfo, Input};
use super::attr::{LAST_MODIFIED, VERSION};
use crate::errors::Errors;

/// A struct the impl can be generated for.
pub(crate) struct Model<'a> {
    pub(crate) input: &'a Input<'a>,
    pub(crate) version: &'a FieldInfo<'a>,
    pub(crate) last_modified: Option<&'a FieldInfo<'a>>,
}

pub(crate) fn check<'a>(input: &'a Input<'a>, errors: &mut Errors) -> Option<Model<'a>> {
    let fields = input.fields.as_ref()?;
    let version = single(fields, VERSION, |f| &f.attrs.version, errors);
    let last_modified = single(fields, LAST_MODIFIED, |f| &f.attrs.last_modified, errors);
    let Some(version) = version else {
        let ident = &input.original.ident;
        errors.spanned(
            ident,
            "`#[derive(Versioned)]` needs a `#[version]` field: mark the field the ETag comes from, for example `#[version] version: i64` (an integer, a string or a timestamp that changes on every write)",
        );
        return None;
    };
    Some(Model {
        input,
        version,
        last_modified,
    })
}

/// The one field carrying the helper; every further one is reported at its attribute.
fn single<'a>(
    fields: &'a [FieldInfo<'a>],
    name: &str,
    attrs: impl Fn(&'a FieldInfo<'a>) -> &'a [&'a syn::Attribute],
    errors: &mut Errors,
) -> Option<&'a FieldInfo<'a>> {
    let mut found = None;
    for field in fields {
        for attr in attrs(field) {
            if found.is_none() {
                found = Some(field);
            } else {
                let what = if name == VERSION {
                    "the ETag comes from exactly one field"
                } else {
                    "Last-Modified comes from at most one field"
                };
                errors.spanned(attr, format!("duplicate `#[{name}]`: {what}"));
            }
        }
    }
    found
}
