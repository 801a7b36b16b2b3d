//! The `Versioned` impl, and the stub emitted next to errors.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned as _;

use super::validate::Model;
use crate::runtime_path::RuntimePath;

pub(crate) fn versioned(model: &Model<'_>) -> TokenStream {
    let input = model.input.original;
    let private = model.input.runtime.private();
    let weak = model.input.weak;
    // `self` keeps the macro's span; the rest of each call is spanned at the field's
    // type, so that a type the runtime does not accept is reported there.
    let this = quote!(self);

    let version = &model.version.member;
    let version_span = model.version.original.ty.span();
    // Each field's type is named in a trait-qualified call spanned at that type: a type
    // the runtime does not accept is reported there, with the trait's message and no note
    // about the runtime's internals.
    let version_ty = &model.version.original.ty;
    let etag = quote_spanned! {version_span=>
        #private::version_etag(
            <#version_ty as #private::VersionValue>::to_etag(&#this.#version),
            #weak,
        )
    };
    // Whether the model can carry a `Last-Modified`: a fact of its type, for the OpenAPI
    // document of the handlers that return it.
    let has_last_modified = match model.last_modified {
        Some(_) => quote!(true),
        None => quote_spanned! {version_span=>
            <#version_ty as #private::VersionValue>::IS_TIMESTAMP
        },
    };
    let last_modified = match model.last_modified {
        Some(field) => {
            let member = &field.member;
            let ty = &field.original.ty;
            quote_spanned! {ty.span()=>
                <#ty as #private::TimestampValue>::timestamp(&#this.#member)
            }
        }
        // A timestamp version gives the time too.
        None => quote_spanned! {version_span=>
            #private::Option::and_then(
                <#version_ty as #private::VersionValue>::as_timestamp(&#this.#version),
                #private::TimestampValue::timestamp,
            )
        },
    };

    // A strong model feeds its version's bits into a collection's tag, and nothing else:
    // no tag is built, and its time is not read (a version already changes on every
    // write). A weak one keeps the default, which also marks the collection weak.
    let fingerprint = if weak {
        TokenStream::new()
    } else {
        let out = quote!(__etag_out);
        let version = quote_spanned! {version_span=>
            <#version_ty as #private::VersionValue>::fingerprint(&#this.#version, #out)
        };
        quote! {
            #[inline]
            fn fingerprint(&self, #out: &mut #private::Fingerprint) {
                #version;
            }
        }
    };

    // `#[versioned(group = "...")]`: the member's group from its key, spanned at the key's
    // type, which must be `Display`.
    let groups = match (&model.input.group, model.group_key) {
        (Some(group), Some(field)) => {
            let member = &field.member;
            let ty = &field.original.ty;
            // The key is written through `<Type as Display>::fmt`, named at the field's
            // type: a type that is not `Display` is reported there.
            let display = quote_spanned! {ty.span()=>
                <#ty as ::core::fmt::Display>::fmt
            };
            let add = quote! {
                #private::CacheGroups::add_key::<Self>(
                    __etag_out,
                    #private::DisplayWith(&#this.#member, #display),
                )
            };
            quote! {
                #[inline]
                fn cache_groups(&self, __etag_out: &mut #private::CacheGroups) {
                    #add;
                }
                #[inline]
                fn collection_group() -> #private::Option<&'static str> {
                    #private::Option::Some(#group)
                }
            }
        }
        _ => TokenStream::new(),
    };

    wrap(
        input,
        &private,
        quote! {
            const HAS_LAST_MODIFIED: bool = #has_last_modified;
            #[inline]
            fn etag(&self) -> #private::ETag {
                #etag
            }
            #groups
            #[inline]
            fn last_modified(&self) -> #private::Option<#private::Time> {
                #last_modified
            }
            #fingerprint
        },
    )
}

/// Emitted with the errors, so that code using the type as `Versioned` does not fail too.
pub(crate) fn fallback(input: &DeriveInput, runtime: &RuntimePath) -> TokenStream {
    let private = runtime.private();
    wrap(
        input,
        &private,
        quote! {
            fn etag(&self) -> #private::ETag {
                ::core::unreachable!()
            }
        },
    )
}

fn wrap(input: &DeriveInput, private: &TokenStream, body: TokenStream) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        const _: () = {
            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl #impl_generics #private::Versioned for #ident #ty_generics #where_clause {
                #body
            }
        };
    }
}
