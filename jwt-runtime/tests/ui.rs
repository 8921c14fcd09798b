//! Compile-fail tests: each misuse the macros catch, one file each, through the public re-export.
//! The `.stderr` files were generated on the toolchain named below; bless with
//! `TRYBUILD=overwrite cargo test -p jwt-runtime --test ui` and review the diff.

#[test]
fn ui() {
    let rustc =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
    // The expected compiler output depends on the compiler: fail loudly on another one rather
    // than report mismatches that are not regressions.
    assert!(
        rustc.starts_with("rustc 1.95."),
        "the ui .stderr files were generated with rustc 1.95; found {rustc}: re-bless them"
    );
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
