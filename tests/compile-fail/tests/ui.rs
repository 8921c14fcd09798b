//! Compile-fail tests: each misuse the macros catch, one file each, through the public re-export.
//! (What must compile lives in `jwt-runtime/tests/hygiene.rs`: trybuild then only checks.)
//!
//! The expected compiler output depends on the compiler, so the `.stderr` files are recorded for
//! one toolchain, rustc 1.95; on any other the test is
//! reported as ignored, with the reason, instead of failing on wording that is not a regression.
//! Bless with `TRYBUILD=overwrite cargo test -p jwt-compile-fail-tests` and review the diff.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the compile-fail outputs are recorded for rustc 1.95"
)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}

/// The `#[jwt_runtime::openapi]` cases.
#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the compile-fail outputs are recorded for rustc 1.95"
)]
#[test]
fn ui_openapi() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui-openapi/*.rs");
}
