//! `#[etag]` in three steps: parse the arguments and the handler into a small model
//! (`args`, `ast`), check it (`validate`), then rewrite it by quoting only (`expand`).

mod args;
mod ast;
mod expand;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::errors::Errors;

/// The whole attribute. On any mistake the errors are emitted with a handler of the same
/// name that axum accepts (the user's body still checked), so that the rest of the crate
/// (the router that names it) still resolves and only the mistake is reported.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let handler = validate::handler(&item, &mut errors);
    if let Some(handler) = &handler {
        validate::per_user(&args, handler, &mut errors);
    }
    match handler {
        Some(handler) if errors.is_empty() => expand::handler(&args, handler),
        // A fn axum could route: a handler that still is one, so that the route naming
        // it is not reported as well.
        Some(handler) if handler.receivers.is_empty() => {
            let errors = errors.into_compile_errors();
            let fallback = expand::fallback(&args, &handler);
            quote!(#errors #fallback)
        }
        _ => {
            let errors = errors.into_compile_errors();
            quote!(#errors #item)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn rewrites_a_handler() {
        let out = expand_str(
            quote!(cache_control = "no-cache"),
            quote! {
                /// Docs stay.
                #[allow(clippy::unused_async)]
                pub async fn get_item(Path(id): Path<i64>, mut q: Query<Q>) -> Result<Json<Item>, StatusCode> {
                    q.0.touch();
                    Ok(Json(load(id)?))
                }
            },
        );
        // A fn returning the future, whose block holds each argument once.
        assert!(
            out.starts_with(
                "# [doc = r\" Docs stay.\"] # [allow (clippy :: unused_async)] pub fn get_item"
            ),
            "{out}"
        );
        assert!(out.contains("(__etag_cx : :: etag_runtime :: __private :: Context < :: etag_runtime :: __private :: Optional , :: etag_runtime :: __private :: Precondition > , __etag_arg0 : Path < i64 > , __etag_arg1 : Query < Q >)"), "{out}");
        assert!(
            out.contains("-> impl :: core :: future :: Future < Output = :: etag_runtime :: __private :: AxumResponse >"),
            "{out}"
        );
        assert!(out.contains("let Path (id) = __etag_arg0 ;"), "{out}");
        assert!(out.contains("let mut q = __etag_arg1 ;"), "{out}");
        // The statements are spliced, not the block: no braces of ours around them.
        assert!(
            out.contains("let mut q = __etag_arg1 ; q . 0 . touch () ; Ok (Json (load (id) ?))"),
            "{out}"
        );
        assert!(
            out.contains("typed :: < Result < Json < Item > , StatusCode > , _ >"),
            "{out}"
        );
        assert!(out.contains("Some (\"no-cache\")"), "{out}");
        assert!(
            out.contains("tags : :: etag_runtime :: __private :: Tags :: Value"),
            "{out}"
        );
        assert!(
            out.contains("< Json < Item > as :: etag_runtime :: __private :: IntoConditionalResponse > :: into_conditional_response (__etag_ok"),
            "{out}"
        );
        assert!(
            out.contains("< StatusCode as :: etag_runtime :: __private :: ErrorResponse > :: into_error_response (__etag_err)"),
            "{out}"
        );
        // What it answers goes to the OpenAPI registry, inside the body.
        assert!(
            out.contains(":: etag_runtime :: __private :: register ! { name : get_item , config : __ETAG_CONFIG }"),
            "{out}"
        );
        assert!(
            out.contains("const __ETAG_CONFIG : :: etag_runtime :: __private :: Config = :: etag_runtime :: __private :: Config { require : :: etag_runtime :: __private :: Require :: Nothing , tags : :: etag_runtime :: __private :: Tags :: Value , per_user : false , cache_control : :: core :: option :: Option :: Some (\"no-cache\") , carries : < Json < Item > as :: etag_runtime :: __private :: IntoConditionalResponse > :: CARRIES , } ;"),
            "{out}"
        );
        assert!(out.find("register !").unwrap() > out.find("__ETAG_CONFIG").unwrap());
    }

    #[test]
    fn hash_mode_error_type_and_impl_trait() {
        let out = expand_str(
            quote!(
                hash(limit = 1024),
                require_precondition,
                error = ApiError,
                crate = "rt"
            ),
            quote! {
                async fn page() -> impl IntoResponse { "hi" }
            },
        );
        assert!(
            out.contains("(__etag_cx : rt :: __private :: Context < rt :: __private :: RequirePrecondition , ApiError >)"),
            "{out}"
        );
        assert!(
            out.contains("tags : rt :: __private :: Tags :: Hash { limit : 1024 }"),
            "{out}"
        );
        assert!(
            out.contains("require : rt :: __private :: Require :: Precondition , tags : rt :: __private :: Tags :: Hash { limit : 1024 } , per_user : false , cache_control : :: core :: option :: Option :: None , carries : rt :: __private :: Carries :: ETAG , }"),
            "{out}"
        );
        assert!(out.contains("rt :: __private"), "{out}");
        assert!(!out.contains("etag_runtime"), "{out}");
        // `impl Trait` cannot be named in the pinned output type: it becomes `_`.
        assert!(out.contains("typed :: < _ , _ >"), "{out}");
    }

    #[test]
    fn impl_trait_inside_result_keeps_the_error_type_pinned() {
        let out = expand_str(
            quote!(hash),
            quote! {
                async fn page<S>() -> Result<impl IntoResponse, StatusCode> { Ok("hi") }
            },
        );
        assert!(
            out.contains("typed :: < Result < _ , StatusCode > , _ >"),
            "{out}"
        );
    }

    #[test]
    fn one_injection_for_every_shape() {
        for item in [
            quote!(
                async fn f() -> Json<X> {
                    Json(X)
                }
            ),
            quote!(
                async fn f(Json(x): Json<X>) -> Json<X> {
                    Json(x)
                }
            ),
            quote!(
                #[axum::debug_handler]
                async fn f(a: A, b: B) -> Json<X> {
                    todo!()
                }
            ),
            quote!(
                async fn f(#[cfg(all())] a: A, b: B) -> Json<X> {
                    todo!()
                }
            ),
        ] {
            let out = expand_str(quote!(), item);
            assert!(
                out.contains("(__etag_cx : :: etag_runtime :: __private :: Context < :: etag_runtime :: __private :: Optional , :: etag_runtime :: __private :: Precondition >"),
                "{out}"
            );
        }
        let cfg = expand_str(
            quote!(),
            quote!(
                async fn f(#[cfg(all())] a: A, b: B) -> Json<X> {
                    todo!()
                }
            ),
        );
        assert!(cfg.contains("# [cfg (all ())] __etag_arg0 : A"), "{cfg}");
        // `#[axum::debug_handler]` takes only an `async fn`: under it the handler stays one.
        let debug = expand_str(
            quote!(),
            quote!(
                #[axum::debug_handler]
                async fn f(a: A) -> Json<X> {
                    todo!()
                }
            ),
        );
        assert!(
            debug.contains("# [axum :: debug_handler] async fn f"),
            "{debug}"
        );
        assert!(
            cfg.contains("# [cfg (all ())] let a = __etag_arg0 ;"),
            "{cfg}"
        );
    }

    #[test]
    fn a_missing_return_type_is_unit() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn ping() {}
            ),
        );
        assert!(out.contains("typed :: < () , _ >"), "{out}");
    }

    #[test]
    fn mistakes_leave_a_handler_that_routes() {
        let item = quote!(
            fn not_async(x: u8) -> u8 {
                x
            }
        );
        let out = expand_str(quote!(nope), item.clone());
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("unknown `#[etag(...)]` argument `nope`"),
            "{out}"
        );
        assert!(out.contains("must be an `async fn`"), "{out}");
        // In its place, a handler axum accepts: no arguments, the body still checked.
        assert!(
            out.contains("async fn not_async () -> :: etag_runtime :: __private :: AxumResponse"),
            "{out}"
        );
        assert!(
            out.contains("typed :: < u8 , _ > (async move { let x : u8 = :: core :: option :: Option :: None . unwrap () ; x })"),
            "{out}"
        );

        let out = expand_str(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(out.contains("goes on an async handler fn"), "{out}");

        let out = expand_str(
            quote!(),
            quote!(
                async fn m(&self) {}
            ),
        );
        assert!(out.contains("cannot take `self`"), "{out}");
        // A method stays as written: no handler can stand in for it.
        assert!(out.ends_with("async fn m (& self) { }"), "{out}");
    }

    #[test]
    fn results_are_answered_half_by_half() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn f() -> Result<Json<X>, DbError> {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains("< Json < X > as :: etag_runtime :: __private :: IntoConditionalResponse > :: into_conditional_response"),
            "{out}"
        );
        assert!(
            out.contains("< DbError as :: etag_runtime :: __private :: ErrorResponse > :: into_error_response"),
            "{out}"
        );
        // An alias of one parameter is answered whole.
        let out = expand_str(
            quote!(),
            quote!(
                async fn f() -> Result<Json<X>> {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains("< Result < Json < X > > as :: etag_runtime :: __private :: IntoConditionalResponse >"),
            "{out}"
        );
    }

    #[test]
    fn per_user_checks_the_key_of_the_state_it_takes() {
        let out = expand_str(
            quote!(per_user = caller),
            quote!(
                async fn f(State(app): State<App>, caller: Caller) -> Json<X> {
                    todo!()
                }
            ),
        );
        assert!(
            out.contains(
                "let _ = < App as :: etag_runtime :: __private :: StateTagKey > :: tag_key ;"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "let _ = < Caller as :: etag_runtime :: __private :: Principal > :: VARY ;"
            ),
            "{out}"
        );
        let out = expand_str(
            quote!(per_user = caller),
            quote!(
                async fn f(caller: Caller) -> Json<X> {
                    todo!()
                }
            ),
        );
        assert!(!out.contains("StateTagKey"), "{out}");
    }

    #[test]
    fn inner_attributes_stay_inside() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn f() -> Json<X> {
                    #![allow(unused)]
                    Json(X)
                }
            ),
        );
        let inner = out.find("# ! [allow (unused)]").expect(&out);
        assert!(inner > out.find("AxumResponse").unwrap(), "{out}");
    }
}
