//! Nothing here: the crate exists for its `tests/ui.rs` (the macros' compile-fail cases).
