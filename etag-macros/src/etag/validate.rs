//! What `#[etag]` accepts: an `async fn`, without a `self` receiver, whose body extractor
//! (if any) comes last.

use proc_macro2::TokenStream;
use syn::{Item, Pat, Type};

use super::args::Args;
use super::ast::{Arg, Handler, NotAFn};
use crate::errors::Errors;

const NOT_A_FN: &str = "`#[etag]` goes on an async handler fn, such as `#[etag] async fn get_product(...) -> Json<Product>`";

/// axum's extractors that read the request body: only the last argument may.
const BODY_EXTRACTORS: &[&str] = &[
    "Json",
    "Form",
    "RawForm",
    "Bytes",
    "String",
    "Body",
    "Request",
    "Multipart",
];

/// The handler, if the item is a fn; every problem with it is recorded in `errors`.
pub(crate) fn handler(item: &TokenStream, errors: &mut Errors) -> Option<Handler> {
    let Ok(parsed) = syn::parse2::<Item>(item.clone()) else {
        errors.spanned(item.clone().into_iter().next(), NOT_A_FN);
        return None;
    };
    let handler = match Handler::parse(parsed) {
        Ok(handler) => handler,
        Err(NotAFn::Impl(head)) => {
            errors.spanned(
                head,
                format!("{NOT_A_FN}; in an `impl` block, put it on each handler fn"),
            );
            return None;
        }
        Err(NotAFn::Other(head)) => {
            errors.spanned(head, NOT_A_FN);
            return None;
        }
    };
    if handler.sig.asyncness.is_none() {
        errors.spanned(
            handler.sig.fn_token,
            "an `#[etag]` handler must be an `async fn`: add `async` before `fn`",
        );
    }
    for receiver in &handler.receivers {
        errors.spanned(
            receiver,
            "an `#[etag]` handler cannot take `self`: axum calls handlers as plain functions, so make it an associated fn (`Self::handler`) that takes its state through extractors",
        );
    }
    let count = handler.args.len();
    for (index, arg) in handler.args.iter().enumerate() {
        if index + 1 == count {
            break;
        }
        if let Some(name) = body_extractor(&arg.ty) {
            errors.spanned(
                &arg.ty,
                format!(
                    "`{name}` reads the request body, so it must be the handler's last argument: move it after the other extractors"
                ),
            );
        }
    }
    Some(handler)
}

/// The argument `per_user = name` names: the one whose pattern binds `name` alone.
pub(crate) fn principal_arg<'a>(
    handler: &'a Handler,
    name: &syn::Ident,
) -> Option<(usize, &'a Arg)> {
    handler.args.iter().enumerate().find(
        |(_, arg)| matches!(&*arg.pat, Pat::Ident(p) if p.ident == *name && p.subpat.is_none()),
    )
}

/// `per_user = name` must name an argument of the handler, bound to that name.
pub(crate) fn per_user(args: &Args, handler: &Handler, errors: &mut Errors) {
    let Some(name) = &args.per_user else { return };
    if let Some((_, arg)) = principal_arg(handler, name) {
        if let Some(extractor) = axum_extractor(&arg.ty) {
            errors.spanned(
                &arg.ty,
                format!(
                    "`{extractor}` does not say which principal a request is from: `per_user = {name}` names the argument that extracts the principal, of a type of yours that implements `Principal` (`VARY` names the request fields it reads, `id` tells one principal from another)"
                ),
            );
        }
        return;
    }
    // A near miss: the type of an argument, not its name.
    let typed = handler.args.iter().find(|arg| {
        matches!(&*arg.ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == *name))
    });
    let message = match typed.map(|arg| &*arg.pat) {
        Some(Pat::Ident(binding)) => format!(
            "`per_user = {name}` names a type: name the argument instead, `per_user = {}`",
            binding.ident
        ),
        _ => format!(
            "`per_user = {name}` names no argument of the handler: name the argument that extracts the principal, bound to a plain name (`per_user = caller` for `caller: Caller`)"
        ),
    };
    errors.spanned(name, message);
}

/// axum's extractors that say nothing about who is asking. This crate implements
/// `Principal` for none of them, and an application cannot (the trait and the types are
/// both foreign to it), so naming one in `per_user` is always a mistake.
const AXUM_EXTRACTORS: &[&str] = &[
    "State",
    "Path",
    "Query",
    "Json",
    "Form",
    "Extension",
    "HeaderMap",
    "ConnectInfo",
    "MatchedPath",
    "OriginalUri",
    "RawQuery",
    "Method",
    "Uri",
];

/// The name of the axum extractor the type is, if it is one of those.
fn axum_extractor(ty: &Type) -> Option<String> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let name = last.ident.to_string();
    AXUM_EXTRACTORS.contains(&name.as_str()).then_some(name)
}

/// The name of the axum body extractor the type is, if it is one.
fn body_extractor(ty: &Type) -> Option<String> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let name = last.ident.to_string();
    BODY_EXTRACTORS.contains(&name.as_str()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn check(item: TokenStream) -> String {
        let mut errors = Errors::default();
        let _ = handler(&item, &mut errors);
        errors.into_compile_errors().to_string()
    }

    #[test]
    fn per_user_names_a_bound_argument() {
        let check = |args: TokenStream, item: TokenStream| {
            let mut errors = Errors::default();
            let args = super::super::args::parse(args, &mut errors);
            let handler = handler(&item, &mut errors).unwrap();
            per_user(&args, &handler, &mut errors);
            errors.into_compile_errors().to_string()
        };
        assert_eq!(
            check(
                quote!(per_user = caller),
                quote!(
                    async fn f(State(s): State<S>, caller: Caller) {}
                )
            ),
            ""
        );
        assert_eq!(
            check(
                quote!(per_user = caller),
                quote!(
                    async fn f(mut caller: Caller) {}
                )
            ),
            ""
        );
        let out = check(
            quote!(per_user = user),
            quote!(
                async fn f(caller: Caller) {}
            ),
        );
        assert!(out.contains("`per_user = user` names no argument"), "{out}");
        let out = check(
            quote!(per_user = caller),
            quote!(
                async fn f(Caller(caller): Caller) {}
            ),
        );
        assert!(out.contains("names no argument"), "{out}");
        // axum's own extractors say nothing about who is asking.
        let out = check(
            quote!(per_user = user),
            quote!(
                async fn f(user: axum::Extension<User>) {}
            ),
        );
        assert!(
            out.contains("`Extension` does not say which principal a request is from"),
            "{out}"
        );
    }

    #[test]
    fn body_extractors_go_last() {
        let out = check(quote!(
            async fn put(Json(x): Json<X>, Path(id): Path<u64>) {}
        ));
        assert!(out.contains("`Json` reads the request body"), "{out}");
        let out = check(quote!(
            async fn put(body: axum::body::Bytes, c: Conditions) {}
        ));
        assert!(out.contains("`Bytes` reads the request body"), "{out}");
        assert_eq!(
            check(quote!(
                async fn put(Path(id): Path<u64>, Json(x): Json<X>) {}
            )),
            ""
        );
        assert_eq!(
            check(quote!(
                async fn only(Json(x): Json<X>) {}
            )),
            ""
        );
    }
}
