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

#[rustversion::not(stable(1.95))]
#[test]
#[ignore = "the .stderr files are written for stable 1.95, the project's compiler; run the ui tests with it"]
fn ui() {}
