//! Every runtime path the generated code names, in one place. All absolute, so nothing depends
//! on names in the user's scope.

use proc_macro2::TokenStream;
use quote::quote;

/// `::jwt_runtime::__private`, the hidden module generated code calls.
pub fn private() -> TokenStream {
    quote!(::jwt_runtime::__private)
}

/// `::jwt_runtime::__private::poem`.
pub fn poem() -> TokenStream {
    let p = private();
    quote!(#p::poem)
}
