//! `#[derive(Versioned)]`: parse the struct and its helper attributes, check them, emit
//! the impl (or, on any mistake, the errors and a stub impl).

mod ast;
mod attr;
mod expand;
mod validate;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = ast::Input::from_syn(input, &mut errors);
    let valid = validate::check(&parsed, &mut errors);
    match valid {
        Some(model) if errors.is_empty() => expand::versioned(&model),
        _ => {
            let stub = expand::fallback(input, &parsed.runtime);
            let errors = errors.into_compile_errors();
            quote::quote!(#errors #stub)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn derive_str(input: DeriveInput) -> String {
        derive(&input).to_string()
    }

    #[test]
    fn named_struct_with_last_modified() {
        let out = derive_str(parse_quote! {
            struct Product {
                id: i64,
                #[version]
                version: i64,
                #[last_modified]
                updated_at: DateTime<Utc>,
            }
        });
        assert!(out.starts_with("const _ : () = {"), "{out}");
        assert!(
            out.contains("impl :: etag_runtime :: __private :: Versioned for Product"),
            "{out}"
        );
        assert!(out.contains("< i64 as :: etag_runtime :: __private :: VersionValue > :: to_etag (& self . version) , false ,)"), "{out}");
        assert!(
            out.contains("< DateTime < Utc > as :: etag_runtime :: __private :: TimestampValue > :: timestamp (& self . updated_at)"),
            "{out}"
        );
        assert!(!out.contains("as_timestamp"), "{out}");
        assert!(!out.contains("unreachable"), "{out}");
    }

    #[test]
    fn tuple_struct_generics_weak_and_crate() {
        let out = derive_str(parse_quote! {
            #[versioned(weak, crate = "rt")]
            struct Tagged<T>(T, #[version] u64) where T: Clone;
        });
        assert!(
            out.contains(
                "impl < T > rt :: __private :: Versioned for Tagged < T > where T : Clone"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "< u64 as rt :: __private :: VersionValue > :: to_etag (& self . 1) , true ,)"
            ),
            "{out}"
        );
        assert!(
            out.contains("< u64 as rt :: __private :: VersionValue > :: as_timestamp (& self . 1)"),
            "{out}"
        );
        assert!(!out.contains("etag_runtime"), "{out}");
    }

    #[test]
    fn mistakes_give_errors_and_a_stub() {
        let out = derive_str(parse_quote! {
            #[versioned(strong)]
            struct Product {
                #[version(x)]
                a: i64,
                #[last_modified]
                b: SystemTime,
                #[last_modified]
                c: SystemTime,
            }
        });
        assert!(
            out.contains("unknown `#[versioned(...)]` key `strong`"),
            "{out}"
        );
        assert!(out.contains("`#[version]` takes no arguments"), "{out}");
        assert!(out.contains("duplicate `#[last_modified]`"), "{out}");
        assert!(out.contains(":: core :: unreachable ! ()"), "{out}");

        let out = derive_str(parse_quote!(
            enum E {
                A,
            }
        ));
        assert!(out.contains("only supports structs"), "{out}");
        assert!(out.contains("Versioned for E"), "{out}");

        let out = derive_str(parse_quote!(
            struct NoVersion {
                a: i64,
            }
        ));
        assert!(out.contains("needs a `#[version]` field"), "{out}");
    }

    #[test]
    fn misplaced_and_malformed_helpers() {
        let out = derive_str(parse_quote! {
            #[version]
            #[versioned(weak = true, weak)]
            struct S {
                #[version]
                #[versioned(weak)]
                a: i64,
            }
        });
        assert!(
            out.contains("`#[version]` goes on a field of the struct"),
            "{out}"
        );
        assert!(out.contains("`weak` takes no value"), "{out}");
        assert!(
            out.contains("`#[versioned(...)]` goes on the struct"),
            "{out}"
        );
        assert!(out.contains(":: core :: unreachable ! ()"), "{out}");
    }
}
