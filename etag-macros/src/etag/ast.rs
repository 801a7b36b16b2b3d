//! The handler as `#[etag]` sees it: a small model that keeps the user's tokens for spans.

use syn::visit::Visit;
use syn::{
    AttrStyle, Attribute, FnArg, Item, ItemFn, Pat, Receiver, ReturnType, Signature, Stmt, Type,
    Visibility,
};

/// An item `#[etag]` was put on that is not a fn.
pub(crate) enum NotAFn {
    /// An `impl` block: the tokens that name it.
    Impl(proc_macro2::TokenStream),
    /// Any other item: the tokens that name it.
    Other(proc_macro2::TokenStream),
}

/// An `async fn` handler, taken apart.
pub(crate) struct Handler {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// `self`, `&self`, ...: axum cannot call such a handler.
    pub(crate) receivers: Vec<Receiver>,
    pub(crate) args: Vec<Arg>,
    pub(crate) output: Output,
    /// The statements of the body, spliced (not its block) into the rewritten handler, so
    /// that no lint sees a block the user did not write.
    pub(crate) stmts: Vec<Stmt>,
}

/// One extractor argument.
pub(crate) struct Arg {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) pat: Box<Pat>,
    pub(crate) ty: Box<Type>,
}

/// The declared return type.
pub(crate) enum Output {
    /// No `->`: `()`.
    Unit,
    /// `-> T`; `opaque` when an `impl Trait` appears in it, `mentions_self` when `Self` does.
    Type {
        ty: Box<Type>,
        opaque: bool,
        mentions_self: bool,
    },
}

impl Handler {
    /// Parses the item. A fn is taken apart whatever its mistakes, which `validate` reports.
    pub(crate) fn parse(item: Item) -> Result<Self, NotAFn> {
        let item: ItemFn = match item {
            Item::Fn(f) => f,
            Item::Impl(imp) => {
                let (head, ty) = (&imp.impl_token, &imp.self_ty);
                return Err(NotAFn::Impl(quote::quote!(#head #ty)));
            }
            other => return Err(NotAFn::Other(head(&other))),
        };
        let ItemFn {
            attrs,
            vis,
            sig,
            block,
            ..
        } = item;
        let (outer_attrs, inner_attrs) = attrs
            .into_iter()
            .partition(|attr| matches!(attr.style, AttrStyle::Outer));
        let mut receivers = Vec::new();
        let mut args = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(r) => receivers.push(r.clone()),
                FnArg::Typed(t) => args.push(Arg {
                    attrs: t.attrs.clone(),
                    pat: t.pat.clone(),
                    ty: t.ty.clone(),
                }),
            }
        }
        let output = match &sig.output {
            ReturnType::Default => Output::Unit,
            ReturnType::Type(_, ty) => Output::Type {
                opaque: contains_impl_trait(ty),
                mentions_self: mentions_self(ty),
                ty: ty.clone(),
            },
        };
        Ok(Self {
            outer_attrs,
            inner_attrs,
            vis,
            sig,
            receivers,
            args,
            output,
            stmts: block.stmts,
        })
    }
}

/// The tokens that name an item: its keyword and name where it has them.
fn head(item: &Item) -> proc_macro2::TokenStream {
    use quote::quote;
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

/// Whether `impl Trait` appears anywhere in the type.
pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
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

/// Whether the type names `Self`.
pub(crate) fn mentions_self(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
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
    fn finds_nested_impl_trait_and_self() {
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

    #[test]
    fn takes_a_handler_apart() {
        let item: Item = parse_quote! {
            #[doc = "x"]
            async fn f(#[cfg(all())] a: A, (b, c): (B, C)) -> Json<X> {
                #![allow(unused)]
                let y = 1;
                Json(X(y))
            }
        };
        let Ok(h) = Handler::parse(item) else {
            panic!("a fn")
        };
        assert_eq!(h.outer_attrs.len(), 1);
        assert_eq!(h.inner_attrs.len(), 1);
        assert_eq!(h.args.len(), 2);
        assert_eq!(h.args[0].attrs.len(), 1);
        assert_eq!(h.stmts.len(), 2);
        assert!(h.receivers.is_empty());
        assert!(matches!(h.output, Output::Type { opaque: false, .. }));
        let item: Item = parse_quote!(
            struct S;
        );
        assert!(matches!(Handler::parse(item), Err(NotAFn::Other(_))));
    }
}
