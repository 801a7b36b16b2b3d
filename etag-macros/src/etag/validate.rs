//! What `#[etag]` accepts: an `async fn` without a `self` receiver.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, Item, ItemFn};

use crate::errors::Errors;

const NOT_A_FN: &str = "`#[etag]` goes on an async handler fn, such as `#[etag] async fn get_product(...) -> Json<Product>`";

/// The handler, if the item is a fn; every problem with it is recorded in `errors`.
pub(crate) fn handler(item: &TokenStream, errors: &mut Errors) -> Option<ItemFn> {
    let item = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(f)) => f,
        Ok(Item::Impl(imp)) => {
            let head = &imp.impl_token;
            let ty = &imp.self_ty;
            errors.spanned(
                quote!(#head #ty),
                format!("{NOT_A_FN}; in an `impl` block, put it on each handler fn"),
            );
            return None;
        }
        Ok(other) => {
            errors.spanned(head(&other), NOT_A_FN);
            return None;
        }
        Err(_) => {
            errors.spanned(item.clone().into_iter().next(), NOT_A_FN);
            return None;
        }
    };
    if item.sig.asyncness.is_none() {
        errors.spanned(
            item.sig.fn_token,
            "an `#[etag]` handler must be an `async fn`: add `async` before `fn`",
        );
    }
    for input in &item.sig.inputs {
        if let FnArg::Receiver(receiver) = input {
            errors.spanned(
                receiver,
                "an `#[etag]` handler cannot take `self`: axum calls handlers as plain functions, so make it an associated fn (`Self::handler`) that takes its state through extractors",
            );
        }
    }
    Some(item)
}

/// The tokens that name an item: its keyword and name where it has them.
fn head(item: &Item) -> TokenStream {
    match item {
        Item::Struct(s) => {
            let (kw, ident) = (&s.struct_token, &s.ident);
            quote!(#kw #ident)
        }
        Item::Enum(e) => {
            let (kw, ident) = (&e.enum_token, &e.ident);
            quote!(#kw #ident)
        }
        Item::Union(u) => {
            let (kw, ident) = (&u.union_token, &u.ident);
            quote!(#kw #ident)
        }
        Item::Trait(t) => {
            let (kw, ident) = (&t.trait_token, &t.ident);
            quote!(#kw #ident)
        }
        Item::Mod(m) => {
            let (kw, ident) = (&m.mod_token, &m.ident);
            quote!(#kw #ident)
        }
        Item::Const(c) => {
            let (kw, ident) = (&c.const_token, &c.ident);
            quote!(#kw #ident)
        }
        Item::Static(s) => {
            let (kw, ident) = (&s.static_token, &s.ident);
            quote!(#kw #ident)
        }
        Item::Type(t) => {
            let (kw, ident) = (&t.type_token, &t.ident);
            quote!(#kw #ident)
        }
        other => quote!(#other),
    }
}
