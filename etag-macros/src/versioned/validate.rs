//! The rules that span fields: exactly one `#[version]`, at most one `#[last_modified]`.

use super::ast::{FieldInfo, Input};
use super::attr::{GROUP_KEY, LAST_MODIFIED, VERSION};
use crate::errors::Errors;

/// A struct the impl can be generated for.
pub(crate) struct Model<'a> {
    pub(crate) input: &'a Input<'a>,
    pub(crate) version: &'a FieldInfo<'a>,
    pub(crate) last_modified: Option<&'a FieldInfo<'a>>,
    /// With `#[versioned(group = "...")]`: the `#[group_key]` field.
    pub(crate) group_key: Option<&'a FieldInfo<'a>>,
}

pub(crate) fn check<'a>(input: &'a Input<'a>, errors: &mut Errors) -> Option<Model<'a>> {
    let fields = input.fields.as_ref()?;
    let version = single(fields, VERSION, |f| &f.attrs.version, errors);
    let last_modified = single(fields, LAST_MODIFIED, |f| &f.attrs.last_modified, errors);
    let group_key = single(fields, GROUP_KEY, |f| &f.attrs.group_key, errors);
    match (&input.group, group_key) {
        (Some(group), None) => errors.spanned(
            group,
            "a cache group needs the field that keys its members: mark it `#[group_key]`, for example `#[group_key] id: i64`",
        ),
        (None, Some(field)) => {
            for attr in &field.attrs.group_key {
                errors.spanned(
                    attr,
                    "`#[group_key]` keys a cache group: name the group on the struct, for example `#[versioned(group = \"product\")]`",
                );
            }
        }
        _ => {}
    }
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
        group_key,
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
                let what = match name {
                    VERSION => "the ETag comes from exactly one field",
                    GROUP_KEY => "a cache group is keyed by exactly one field",
                    _ => "Last-Modified comes from at most one field",
                };
                errors.spanned(attr, format!("duplicate `#[{name}]`: {what}"));
            }
        }
    }
    found
}
