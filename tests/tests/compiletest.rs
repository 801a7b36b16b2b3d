//! Compile-error tests: every documented misuse of the macros, one file per mistake, with
//! the compiler output it must give (`TRYBUILD=overwrite` regenerates the `.stderr` files;
//! review the diff). Plus compile-only tests of the odd shapes that must keep working.
//!
//! The `.stderr` files are the output of stable 1.95, the one compiler on the project's
//! machines; any other compiler words things differently, so these tests run on that one
//! only (as darling does).

#[rustversion::stable(1.95)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/versioned/*.rs");
    t.compile_fail("tests/ui/etag/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

/// The mistakes a new user is likely to make (issue 22's table), each with its fixture:
/// the `.stderr` next to it pins the compiler's whole output, follow-on errors included.
const LIKELY_MISTAKES: &[(&str, &str)] = &[
    (
        "a version type whose feature is off",
        "versioned/version-type-without-feature",
    ),
    (
        "a model without `#[derive(Versioned)]`",
        "etag/missing-derive",
    ),
    ("`-> String`", "etag/returns-string"),
    ("a typo in an `#[etag(...)]` option", "etag/unknown-arg"),
    ("the body extractor first", "etag/body-extractor-not-last"),
    (
        "`per_user` on an axum extractor",
        "etag/per-user-not-principal",
    ),
    (
        "`per_user` on a type without `Principal`",
        "etag/per-user-type-not-principal",
    ),
    (
        "`Result<_, E>` with `E` not `IntoResponse`",
        "etag/result-error-not-into-response",
    ),
    (
        "`per_user` without `impl FromRef<_> for TagKey`",
        "etag/per-user-missing-from-ref",
    ),
    (
        "`#[debug_handler]` above `#[etag]`",
        "etag/debug-handler-outer",
    ),
];

/// A fixture of the table cannot be dropped or left without its expected output: the
/// globs above would not notice.
#[test]
fn every_likely_mistake_has_its_fixture() {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    for (mistake, name) in LIKELY_MISTAKES {
        let source = ui.join(format!("{name}.rs"));
        let stderr = ui.join(format!("{name}.stderr"));
        assert!(source.is_file(), "{mistake}: no {}", source.display());
        let expected = std::fs::read_to_string(&stderr)
            .unwrap_or_else(|e| panic!("{mistake}: {}: {e}", stderr.display()));
        assert!(
            expected.starts_with("error"),
            "{mistake}: {} is not a compiler error",
            stderr.display()
        );
    }
}

#[rustversion::not(stable(1.95))]
#[test]
#[ignore = "the .stderr files are written for stable 1.95, the project's compiler; run the ui tests with it"]
fn ui() {}
