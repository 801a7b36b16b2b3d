//! The rewritten handler, by quoting only: no user-facing errors are made here.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned as _;

use super::args::{Args, Mode, Require};
use super::ast::{Handler, Output};
use super::validate::principal_arg;

/// The handler with the context extractor as its first argument, its patterns moved into
/// the body, and the body's value turned into the conditional response.
///
/// The context is always an argument of its own, so one shape serves every handler; it
/// costs the handler one of axum's 16 extractor slots.
pub(crate) fn handler(args: &Args, handler: Handler) -> TokenStream {
    let private = args.runtime.private();
    // Locals of the expansion are hygienic (`mixed_site`): user code cannot see them,
    // and they cannot shadow the user's.
    let cx = Ident::new("__etag_cx", Span::mixed_site());
    let output = Ident::new("__etag_output", Span::mixed_site());

    let (marker, require) = match args.require_precondition {
        Require::Nothing => (quote!(#private::Optional), quote!(Nothing)),
        Require::Precondition => (quote!(#private::RequirePrecondition), quote!(Precondition)),
        Require::EntityTag => (quote!(#private::RequireEntityTag), quote!(EntityTag)),
    };
    let error = match &args.error {
        Some(ty) => quote!(#ty),
        None => quote!(#private::Precondition),
    };

    // `per_user = arg`: that argument is extracted by the context, first, and handed over.
    let principal = args
        .per_user
        .as_ref()
        .and_then(|name| principal_arg(&handler, name))
        .map(|(index, _)| index);
    let principal_var = Ident::new("__etag_principal", Span::mixed_site());
    let (context, first, take) = match principal.map(|i| &handler.args[i]) {
        Some(arg) => {
            let ty = &arg.ty;
            let context = quote!(#private::UserContext);
            let param = quote!(mut #cx: #private::UserContext<#marker, #error, #ty>);
            // Spanned at the argument's type: a type that is not a `Principal` is
            // reported there, with the trait's own message and no note into the runtime.
            let check = quote_spanned! {ty.span()=>
                let _ = <#ty as #private::Principal>::VARY;
            };
            // The state the handler takes must give the key the tags are sealed with:
            // said at its `State<_>` argument, in place of axum's `Handler` error only.
            let key = state_type(&handler).map(|(arg, state)| {
                quote_spanned! {arg.span()=>
                    let _ = <#state as #private::StateTagKey>::tag_key;
                }
            });
            let take = quote! {
                #check
                #key
                let #principal_var = #private::UserContext::take_principal(&mut #cx);
            };
            (context, param, take)
        }
        None => (
            quote!(#private::Context),
            quote!(#cx: #private::Context<#marker, #error>),
            TokenStream::new(),
        ),
    };

    let mut params = vec![first];
    let mut bindings = Vec::new();
    let mut handed = Vec::new();
    for (index, arg) in handler.args.iter().enumerate() {
        let name = format_ident!("__etag_arg{}", index, span = Span::mixed_site());
        let (attrs, pat, ty) = (&arg.attrs, &arg.pat, &arg.ty);
        if principal == Some(index) {
            bindings.push(quote!(#(#attrs)* let #pat = #principal_var;));
            continue;
        }
        // The conditions the context read (with the handler's requirement), not read again.
        if is_named(ty, "Conditions") {
            handed.push(quote!(let #name = #context::conditions(&#cx);));
            bindings.push(quote!(#(#attrs)* let #pat: #ty = #name;));
            continue;
        }
        // The groups the response is finished with: the context keeps the other handle.
        if is_named(ty, "ResponseGroups") {
            handed.push(quote!(let #name = #context::groups(&#cx);));
            bindings.push(quote!(#(#attrs)* let #pat: #ty = #name;));
            continue;
        }
        params.push(quote!(#(#attrs)* #name: #ty));
        bindings.push(quote!(#(#attrs)* let #pat = #name;));
    }

    let sig = &handler.sig;
    let (ret, ret_span) = match &handler.output {
        Output::Unit => (quote!(()), sig.ident.span()),
        Output::Type { ty, .. } => (quote!(#ty), ty.span()),
    };
    // `typed` pins the body's output to the declared type, so that `?` and `return`
    // convert to it. An `impl Trait` cannot be named there: it becomes `_`, so that the
    // rest of the type (the `E` of `Result<impl IntoResponse, E>`) still guides `?`.
    let (pinned, opaque) = match &handler.output {
        Output::Type {
            ty, opaque: true, ..
        } => {
            let inferred = impl_trait_as_infer((**ty).clone());
            (quote!(#inferred), true)
        }
        _ => (ret.clone(), false),
    };
    let stmts = &handler.stmts;
    let run = quote! {
        #private::typed::<#pinned, _>(async move {
            #(#bindings)*
            #(#stmts)*
        })
        .await
    };

    let cache_control = match &args.cache_control {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    let tags = match args.mode {
        Mode::Hash { limit: Some(n) } => {
            let n = Literal::usize_unsuffixed(n);
            quote!(#private::Tags::Hash { limit: #n })
        }
        Mode::Hash { limit: None } => {
            quote!(#private::Tags::Hash { limit: #private::DEFAULT_HASH_LIMIT })
        }
        Mode::Value => quote!(#private::Tags::Value),
    };

    // The validators the return type can carry, from its `IntoConditionalResponse` impl,
    // in the handler's constant. A type that cannot be named there (`impl Trait`, or one
    // naming the handler's generics or `Self`) may carry both; `hash` makes the tag only.
    let nameable = handler.sig.generics.params.is_empty()
        && matches!(
            &handler.output,
            Output::Unit
                | Output::Type {
                    opaque: false,
                    mentions_self: false,
                    ..
                }
        );
    // A `Result<T, E>` carries what its `T` does, and is asked of `T` alone, at `T`: the
    // same question as its `Ok` arm asks below, so that a `T` without validators is
    // reported once, and an `E` that is no response only by its own check.
    let carries = match (args.mode, result_parts(&handler.output)) {
        (Mode::Hash { .. }, _) => quote!(#private::Carries::ETAG),
        (Mode::Value, Some((ok, _))) if nameable => quote_spanned! {ok.span()=>
            <#ok as #private::IntoConditionalResponse>::CARRIES
        },
        (Mode::Value, None) if nameable => quote_spanned! {ret_span=>
            <#ret as #private::IntoConditionalResponse>::CARRIES
        },
        (Mode::Value, _) => quote!(#private::Carries::BOTH),
    };

    // Spanned at the return type, and a direct trait call: a type that cannot answer
    // conditionally is reported there, with the trait's own message.
    let respond = match args.mode {
        Mode::Hash { .. } => quote_spanned! {ret_span=>
            #private::respond(
                #context::responder(&#cx),
                #private::IntoResponse::into_response(#output),
                &__ETAG_CONFIG,
            )
        },
        Mode::Value if opaque => quote_spanned! {ret_span=>
            #private::respond(
                #context::responder(&#cx),
                #private::IntoConditionalResponse::into_conditional_response(
                    #output,
                    &#context::responder(&#cx),
                ),
                &__ETAG_CONFIG,
            )
        },
        Mode::Value => match result_parts(&handler.output) {
            // `Result<T, E>` taken apart, so that each half is reported at its own type:
            // a `T` without validators at `T`, an `E` that is no response at `E`.
            Some((ok, err)) => {
                let ok_var = Ident::new("__etag_ok", Span::mixed_site());
                let err_var = Ident::new("__etag_err", Span::mixed_site());
                let ok_arm = quote_spanned! {ok.span()=>
                    <#ok as #private::IntoConditionalResponse>::into_conditional_response(
                        #ok_var,
                        &#context::responder(&#cx),
                    )
                };
                let err_arm = quote_spanned! {err.span()=>
                    <#err as #private::ErrorResponse>::into_error_response(#err_var)
                };
                quote_spanned! {ret_span=>
                    #private::respond(
                        #context::responder(&#cx),
                        match #output {
                            ::core::result::Result::Ok(#ok_var) => #ok_arm,
                            ::core::result::Result::Err(#err_var) => #err_arm,
                        },
                        &__ETAG_CONFIG,
                    )
                }
            }
            None => quote_spanned! {ret_span=>
                #private::respond(
                    #context::responder(&#cx),
                    <#ret as #private::IntoConditionalResponse>::into_conditional_response(
                        #output,
                        &#context::responder(&#cx),
                    ),
                    &__ETAG_CONFIG,
                )
            },
        },
    };

    // Awaited only when a body must be read, and out of the statement that made it:
    // across that await the handler's future holds the box, not a response.
    let ready = Ident::new("__etag_ready", Span::mixed_site());
    let later = Ident::new("__etag_later", Span::mixed_site());
    let done = syn::Lifetime::new("'__etag_done", Span::mixed_site());
    let respond = quote! {
        #done: {
            let #later = match #respond {
                #private::Respond::Ready(#ready) => break #done #ready,
                #private::Respond::Later(#later) => #later,
            };
            #later.await
        }
    };

    let respond = if principal.is_some() {
        quote!(#private::UserContext::seal(&#cx, #respond))
    } else {
        respond
    };

    // With `impl Trait` the declared type is not named above; a never-called check
    // still holds the body to it (and keeps the imports it names in use). A nested fn
    // cannot name the handler's generics or `Self`, so those handlers go without it.
    let (declared_fn, declared_call) = match &handler.output {
        Output::Type {
            ty,
            opaque: true,
            mentions_self: false,
        } if sig.generics.params.is_empty() => {
            let check = Ident::new("__etag_declared", Span::mixed_site());
            (quote!(fn #check(_: &#ty) {}), quote!(#check(&#output);))
        }
        _ => (TokenStream::new(), TokenStream::new()),
    };

    // What the handler answers, for the runtime's OpenAPI modifier: its registry with the
    // `utoipa` feature, nothing without. In the body, so that an associated fn gets it too.
    let per_user = principal.is_some();
    let ident = &sig.ident;
    let register = quote! {
        #private::register! { name: #ident, config: __ETAG_CONFIG }
    };

    let outer = &handler.outer_attrs;
    let inner = &handler.inner_attrs;
    let vis = &handler.vis;
    let constness = &sig.constness;
    let asyncness = &sig.asyncness;
    let safety = &sig.safety;
    let abi = &sig.abi;
    let fn_token = &sig.fn_token;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;

    let config = quote! {
        const __ETAG_CONFIG: #private::Config = #private::Config {
            require: #private::Require::#require,
            tags: #tags,
            per_user: #per_user,
            cache_control: #cache_control,
            carries: #carries,
        };
        #register
    };
    let body = quote! {
        #take
        #(#handed)*
        #declared_fn
        let #output = #run;
        #declared_call
        #respond
    };

    // A `fn` returning an `async move` block rather than an `async fn`: an `async fn`'s
    // future keeps each argument twice (as it was passed, and moved into the body), and
    // the context is the largest of them. The block uses the arguments where they were
    // captured. `#[axum::debug_handler]` accepts only an `async fn`: under it, the
    // handler stays one.
    if outer.iter().any(is_debug_handler) {
        return quote! {
            #(#outer)*
            #vis #constness #asyncness #safety #abi #fn_token #ident #generics (
                #(#params),*
            ) -> #private::AxumResponse
            #where_clause
            {
                #(#inner)*
                #config
                #body
            }
        };
    }
    quote! {
        #(#outer)*
        #vis #constness #safety #abi #fn_token #ident #generics (
            #(#params),*
        ) -> impl ::core::future::Future<Output = #private::AxumResponse>
        #where_clause
        {
            #(#inner)*
            #config
            async move {
                #body
            }
        }
    }
}

/// Whether an attribute is axum's `debug_handler` (by the last segment of its path).
fn is_debug_handler(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "debug_handler")
}

/// The handler after a mistake: a handler axum accepts whatever its arguments were (it
/// takes none, and never runs), so that the route naming it is not reported too. The
/// user's arguments are bound inside the body, from a value of their type, so that the
/// body is still checked as written (and its imports and bindings count as used). Only
/// the mistake is reported.
pub(crate) fn fallback(args: &Args, handler: &Handler) -> TokenStream {
    let private = args.runtime.private();
    let bindings = handler.args.iter().map(|arg| {
        let (attrs, pat, ty) = (&arg.attrs, &arg.pat, &arg.ty);
        quote!(#(#attrs)* let #pat: #ty = ::core::option::Option::None.unwrap();)
    });
    let pinned = match &handler.output {
        Output::Unit => quote!(()),
        Output::Type { ty, .. } => {
            let inferred = impl_trait_as_infer((**ty).clone());
            quote!(#inferred)
        }
    };
    let stmts = &handler.stmts;
    let sig = &handler.sig;
    let (outer, inner, vis) = (&handler.outer_attrs, &handler.inner_attrs, &handler.vis);
    let (ident, generics) = (&sig.ident, &sig.generics);
    let where_clause = &sig.generics.where_clause;
    quote! {
        #(#outer)*
        #vis async fn #ident #generics () -> #private::AxumResponse
        #where_clause
        {
            #(#inner)*
            let _ = #private::typed::<#pinned, _>(async move {
                #(#bindings)*
                #(#stmts)*
            })
            .await;
            ::core::unreachable!()
        }
    }
}

/// `T` and `E` of a declared `Result<T, E>` (by its last segment, as the prelude's
/// `Result` is written), when neither holds an `impl Trait`.
fn result_parts(output: &Output) -> Option<(&Type, &Type)> {
    let Output::Type {
        ty, opaque: false, ..
    } = output
    else {
        return None;
    };
    let Type::Path(path) = &**ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(Some(ok)), Some(Some(err)), None) => Some((ok, err)),
        _ => None,
    }
}

/// The handler's `State<S>` argument and its `S`, if it has exactly one.
fn state_type(handler: &Handler) -> Option<(&Type, &Type)> {
    let mut states = handler.args.iter().filter_map(|arg| {
        let Type::Path(path) = &*arg.ty else {
            return None;
        };
        let last = path.path.segments.last()?;
        if last.ident != "State" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        match args.args.first() {
            Some(syn::GenericArgument::Type(state)) if args.args.len() == 1 => {
                Some((&*arg.ty, state))
            }
            _ => None,
        }
    });
    let first = states.next()?;
    states.next().is_none().then_some(first)
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

/// Whether an argument is the runtime's `Conditions` or `ResponseGroups`, by the last
/// segment of its path (as body extractors are recognized): the context hands it over
/// instead of it being extracted.
fn is_named(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == name && last.arguments.is_none()),
        _ => false,
    }
}
