//! The rewritten handler. No user-facing errors are made here: by now the input is valid.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::visit::Visit;
use syn::{AttrStyle, Attribute, FnArg, ItemFn, PatType, ReturnType, Type};

use super::args::{Args, Mode};

/// The handler with the context extractor first, its patterns moved into the body, and
/// the body's value turned into the conditional response.
pub(crate) fn handler(args: &Args, item: ItemFn) -> TokenStream {
    let private = args.runtime.private();
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = item;
    let (outer, inner): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Outer));

    // Locals of the expansion are hygienic (`mixed_site`): user code cannot see them,
    // and they cannot shadow the user's.
    let cx = Ident::new("__etag_cx", Span::mixed_site());
    let output = Ident::new("__etag_output", Span::mixed_site());

    let require = args.require_precondition;
    // Receivers were rejected by `validate`.
    let typed: Vec<&PatType> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(arg) => Some(arg),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let injection = injection(&outer, &typed);

    let mut params = Vec::new();
    let mut bindings = Vec::new();
    let mut unwrap = TokenStream::new();
    if injection == Injection::Separate {
        params.push(quote!(#cx: #private::Context<#require>));
    }
    for (index, arg) in typed.iter().enumerate() {
        let name = format_ident!("__etag_arg{}", index, span = Span::mixed_site());
        let (attrs, pat, ty) = (&arg.attrs, &arg.pat, &arg.ty);
        let wrapper = match injection {
            Injection::First if index == 0 => Some(quote!(#private::WithContext)),
            Injection::Only => Some(quote!(#private::WithContextOnly)),
            _ => None,
        };
        match wrapper {
            Some(wrapper) => {
                params.push(quote!(#name: #wrapper<#require, #ty>));
                unwrap = quote!(let #wrapper(#cx, #name) = #name;);
            }
            None => params.push(quote!(#(#attrs)* #name: #ty)),
        }
        bindings.push(quote!(#(#attrs)* let #pat = #name;));
    }

    let (ret, ret_span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.ident.span()),
        ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
    };
    let opaque = match &sig.output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => contains_impl_trait(ty),
    };

    let body = quote! {
        async move {
            #(#bindings)*
            #block
        }
    };
    // `typed` pins the body's output to the declared type, so that `?` and `return`
    // convert to it. An `impl Trait` cannot be named there: it becomes `_`, so that the
    // rest of the type (the `E` of `Result<impl IntoResponse, E>`) still guides `?`.
    let pinned = match &sig.output {
        ReturnType::Type(_, ty) if opaque => {
            let inferred = impl_trait_as_infer((**ty).clone());
            quote!(#inferred)
        }
        _ => ret.clone(),
    };
    let run = quote!(#private::typed::<#pinned, _>(#body).await);

    let weak = args.weak;
    let cache_control = match &args.cache_control {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    let (hash_limit, hashed) = match args.mode {
        Mode::Value => (quote!(#private::DEFAULT_HASH_LIMIT), false),
        Mode::Hash { limit: None } => (quote!(#private::DEFAULT_HASH_LIMIT), true),
        Mode::Hash { limit: Some(n) } => {
            let n = Literal::usize_unsuffixed(n);
            (quote!(#n), true)
        }
    };

    // Spanned at the return type: a type that cannot answer conditionally is reported
    // there, with the runtime trait's message.
    let turbofish = if opaque {
        TokenStream::new()
    } else {
        quote!(::<#ret>)
    };
    let respond = if hashed {
        quote_spanned! {ret_span=>
            #private::Context::<#require>::respond_hashed #turbofish (&#cx, #output, __ETAG_OPTIONS).await
        }
    } else {
        quote_spanned! {ret_span=>
            #private::Context::<#require>::respond #turbofish (&#cx, #output, __ETAG_OPTIONS)
        }
    };

    // With `impl Trait` the declared type is not named above; a never-called check
    // still holds the body to it (and keeps the imports it names in use). A nested fn
    // cannot name the handler's generics or `Self`, so those handlers go without it.
    let (declared_fn, declared_call) = match &sig.output {
        ReturnType::Type(_, ty)
            if opaque && sig.generics.params.is_empty() && !mentions_self(ty) =>
        {
            let check = Ident::new("__etag_declared", Span::mixed_site());
            (quote!(fn #check(_: &#ty) {}), quote!(#check(&#output);))
        }
        _ => (TokenStream::new(), TokenStream::new()),
    };

    let constness = &sig.constness;
    let asyncness = &sig.asyncness;
    let safety = &sig.safety;
    let abi = &sig.abi;
    let fn_token = &sig.fn_token;
    let ident = &sig.ident;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;

    quote! {
        #(#outer)*
        #vis #constness #asyncness #safety #abi #fn_token #ident #generics (
            #(#params),*
        ) -> #private::AxumResponse
        #where_clause
        {
            #(#inner)*
            const __ETAG_OPTIONS: #private::Options = #private::Options {
                weak: #weak,
                cache_control: #cache_control,
                hash_limit: #hash_limit,
            };
            #declared_fn
            #unwrap
            let #output = #run;
            #declared_call
            #respond
        }
    }
}

/// How the context extractor gets into the handler's arguments. It is always extracted
/// first, before any of the handler's own extractors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Injection {
    /// Wrapped around the first of several arguments (`WithContext<_, T0>`): the handler
    /// keeps its number of arguments, so that `#[debug_handler]` as the outer attribute,
    /// which calls the handler with its original arguments, still compiles.
    First,
    /// Wrapped around the only argument, which may read the body (`WithContextOnly`).
    Only,
    /// An argument of its own, first (`Context<_>`): for handlers without arguments, for a
    /// first argument with attributes (say `#[cfg]`), and when `#[debug_handler]` comes
    /// below `#[etag]` and so checks the rewritten handler, whose first argument then is a
    /// plain extractor it knows how to check.
    Separate,
}

fn injection(outer: &[Attribute], typed: &[&PatType]) -> Injection {
    let debug_handler = outer.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "debug_handler")
    });
    match typed {
        [] => Injection::Separate,
        _ if debug_handler => Injection::Separate,
        [first, ..] if !first.attrs.is_empty() => Injection::Separate,
        [_] => Injection::Only,
        _ => Injection::First,
    }
}

/// Whether `impl Trait` appears anywhere in the type.
fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// The type with every `impl Trait` in it replaced by `_`.
fn impl_trait_as_infer(mut ty: Type) -> Type {
    struct Replacer;
    impl syn::visit_mut::VisitMut for Replacer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(it) = ty {
                let span = it.impl_token.span;
                *ty = syn::parse_quote_spanned!(span=> _);
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    syn::visit_mut::VisitMut::visit_type_mut(&mut Replacer, &mut ty);
    ty
}

/// Whether the type names `Self`.
fn mentions_self(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_ident(&mut self, ident: &'ast Ident) {
            self.0 |= ident == "Self";
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn finds_nested_impl_trait() {
        assert!(contains_impl_trait(&parse_quote!(impl IntoResponse)));
        assert!(contains_impl_trait(&parse_quote!(
            Result<impl IntoResponse, E>
        )));
        assert!(contains_impl_trait(&parse_quote!((
            StatusCode,
            impl IntoResponse
        ))));
        assert!(!contains_impl_trait(&parse_quote!(Result<Json<T>, E>)));
        assert!(!contains_impl_trait(&parse_quote!(Box<dyn Fn() -> u8>)));
        assert!(mentions_self(&parse_quote!(Result<Self, E>)));
        assert!(!mentions_self(&parse_quote!(Result<Json<P>, E>)));
    }
}
