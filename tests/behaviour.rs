//! The behaviour tests, linked as one binary (one link instead of one per file): each module is
//! one area (`trust`, `rotation`, `stores`, ...). Run one area with
//! `cargo test -p jwt-tests --test behaviour trust::`; the tests that need Redis or PostgreSQL are
//! ignored unless run with `-- --include-ignored`.
#![recursion_limit = "256"]

mod support;

mod callbacks;
mod claims_sources;
mod dpop;
mod dpop_oidc_provider;
mod foreign_tokens;
mod generic_handlers;
mod header_errors;
mod issuer_policies;
mod keys_and_rotation;
mod lifecycle;
mod locations;
mod macro_arguments;
mod misconfiguration;
mod oauth;
mod oidc_provider;
mod openapi;
mod properties;
mod reissue;
mod remote_jwks;
mod roles;
mod rotation;
mod route_groups;
mod store_faults;
mod stores;
mod token_cache;
mod token_creation;
mod trust;
mod tutorial_timelines;
mod wycheproof;
