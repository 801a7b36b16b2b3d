//! The struct as the derive sees it: its fields with their helper attributes.

use syn::{Data, DeriveInput, Field, Fields, Member};

use super::attr::{Container, FieldAttrs};
use crate::errors::Errors;
use crate::runtime_path::RuntimePath;

pub(crate) struct Input<'a> {
    pub(crate) original: &'a DeriveInput,
    pub(crate) weak: bool,
    pub(crate) runtime: RuntimePath,
    /// `#[versioned(group = "...")]`.
    pub(crate) group: Option<syn::LitStr>,
    /// `None` for enums and unions (already reported).
    pub(crate) fields: Option<Vec<FieldInfo<'a>>>,
}

pub(crate) struct FieldInfo<'a> {
    pub(crate) original: &'a Field,
    pub(crate) member: Member,
    pub(crate) attrs: FieldAttrs<'a>,
}

const ONLY_STRUCTS: &str = "`#[derive(Versioned)]` only supports structs";

impl<'a> Input<'a> {
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Self {
        let container = Container::from_attrs(&input.attrs, errors);
        let fields = match &input.data {
            Data::Struct(data) => Some(
                fields(&data.fields)
                    .map(|(member, field)| FieldInfo {
                        original: field,
                        member,
                        attrs: FieldAttrs::from_attrs(&field.attrs, errors),
                    })
                    .collect(),
            ),
            Data::Enum(data) => {
                errors.spanned(
                    data.enum_token,
                    format!(
                        "{ONLY_STRUCTS}; an enum's version depends on its variant: implement `Versioned` by hand"
                    ),
                );
                None
            }
            Data::Union(data) => {
                errors.spanned(data.union_token, format!("{ONLY_STRUCTS}, not unions"));
                None
            }
        };
        Self {
            original: input,
            weak: container.weak,
            runtime: container.runtime,
            group: container.group,
            fields,
        }
    }
}

fn fields(fields: &Fields) -> impl Iterator<Item = (Member, &Field)> {
    fields.iter().enumerate().map(|(index, field)| {
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(syn::Index {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                span: proc_macro2::Span::call_site(),
            }),
        };
        (member, field)
    })
}
