//! Attribute and derive macros of `jwt-runtime`. Use them through `jwt_runtime`, which re-exports
//! and documents them; this crate holds entry points only: each macro is parse -> validate ->
//! expand in a module of its own, over the shared helpers of `expand`.

#![forbid(unsafe_code)]
#![deny(unreachable_pub)]

mod additional_claims;
mod args;
mod claims_derive;
mod expand;
mod handler_fn;
mod narrow;
mod openapi;
mod paths;
mod protect;
mod suggest;
mod user_lookup;

use proc_macro::TokenStream;

// The macros carry no doc comments: rustdoc appends them to the documentation that `jwt_runtime`
// writes on its re-exports, which is where users read it.

// Protects a Poem handler. Documented at `jwt_runtime::jwt_required`.
#[proc_macro_attribute]
pub fn jwt_required(args: TokenStream, item: TokenStream) -> TokenStream {
    protect::expand(protect::Macro::JwtRequired, args.into(), item.into()).into()
}

// Protects a Poem handler for admins only. Documented at `jwt_runtime::admin_required`.
#[proc_macro_attribute]
pub fn admin_required(args: TokenStream, item: TokenStream) -> TokenStream {
    protect::expand(protect::Macro::AdminRequired, args.into(), item.into()).into()
}

// Protects the marked `#[oai]` operations of a poem-openapi `#[OpenApi]` impl. Documented at
// `jwt_runtime::openapi` (feature `openapi`).
#[proc_macro_attribute]
pub fn openapi(args: TokenStream, item: TokenStream) -> TokenStream {
    openapi::expand(args.into(), item.into()).into()
}

// Opts an operation out of `#[jwt_runtime::openapi(jwt_required)]`, which consumes it: expanded
// on its own, it is misplaced. Documented at `jwt_runtime::jwt_public` (feature `openapi`).
#[proc_macro_attribute]
pub fn jwt_public(args: TokenStream, item: TokenStream) -> TokenStream {
    openapi::misplaced_public_marker(args.into(), item.into()).into()
}

// Turns a fn into an additional-claims loader. Documented at `jwt_runtime::additional_claims`.
#[proc_macro_attribute]
pub fn additional_claims(args: TokenStream, item: TokenStream) -> TokenStream {
    additional_claims::expand(args.into(), item.into()).into()
}

// Derives `jwt_runtime::JwtClaims`. Documented at `jwt_runtime::JwtClaims`.
#[proc_macro_derive(JwtClaims)]
pub fn derive_jwt_claims(item: TokenStream) -> TokenStream {
    claims_derive::expand(item.into()).into()
}

// Registers a fn as the user loader of its return type. Documented at
// `jwt_runtime::user_lookup_loader`.
#[proc_macro_attribute]
pub fn user_lookup_loader(args: TokenStream, item: TokenStream) -> TokenStream {
    user_lookup::expand(args.into(), item.into()).into()
}

/// The vocabularies the macros check at compile time, as `(reserved claims, token locations)`,
/// so the runtime's tests can prove they equal its own. Not for applications.
#[doc(hidden)]
#[proc_macro]
pub fn __vocabulary(_input: TokenStream) -> TokenStream {
    let reserved = claims_derive::RESERVED;
    let locations = args::LOCATIONS;
    quote::quote!((&[#(#reserved),*] as &[&str], &[#(#locations),*] as &[&str])).into()
}
