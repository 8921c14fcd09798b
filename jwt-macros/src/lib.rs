//! Attribute and derive macros of `jwt-runtime`. Use them through `jwt_runtime`, which re-exports
//! them and documents them; this crate holds entry points only: each macro is parse -> validate
//! -> expand in a module of its own.

mod additional_claims;
mod args;
mod claims_derive;
mod handler_fn;
mod paths;
mod protect;
mod suggest;
mod user_lookup;

use proc_macro::TokenStream;

/// Protects a Poem handler: see `jwt_runtime::jwt_required`.
#[proc_macro_attribute]
pub fn jwt_required(args: TokenStream, item: TokenStream) -> TokenStream {
    protect::expand(protect::Macro::JwtRequired, args.into(), item.into()).into()
}

/// Protects a Poem handler for admins only: see `jwt_runtime::admin_required`.
#[proc_macro_attribute]
pub fn admin_required(args: TokenStream, item: TokenStream) -> TokenStream {
    protect::expand(protect::Macro::AdminRequired, args.into(), item.into()).into()
}

/// Turns an async fn into an additional-claims loader: see `jwt_runtime::additional_claims`.
#[proc_macro_attribute]
pub fn additional_claims(args: TokenStream, item: TokenStream) -> TokenStream {
    additional_claims::expand(args.into(), item.into()).into()
}

/// Derives `jwt_runtime::JwtClaims` for a claims struct.
#[proc_macro_derive(JwtClaims)]
pub fn derive_jwt_claims(item: TokenStream) -> TokenStream {
    claims_derive::expand(item.into()).into()
}

/// Registers an async fn as the user loader of its return type: see `jwt_runtime::user_lookup_loader`.
#[proc_macro_attribute]
pub fn user_lookup_loader(args: TokenStream, item: TokenStream) -> TokenStream {
    user_lookup::expand(args.into(), item.into()).into()
}
