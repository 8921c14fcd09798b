//! Every runtime path the generated code names, in one place. All absolute, starting at the
//! runtime crate as the user's `Cargo.toml` names it (a renamed dependency works), so nothing
//! depends on names in the user's scope.

use proc_macro2::{Span, TokenStream};
use proc_macro_crate::{crate_name, FoundCrate};
use quote::quote;

/// `::jwt_runtime`, or the name the user's `Cargo.toml` gives the `jwt-runtime` package.
pub(crate) fn runtime() -> TokenStream {
    match crate_name("jwt-runtime") {
        Ok(FoundCrate::Name(name)) => {
            let ident = syn::Ident::new(&name, Span::call_site());
            quote!(::#ident)
        }
        // The runtime's own tests and doctests, or no Cargo.toml to read: the canonical name.
        Ok(FoundCrate::Itself) | Err(_) => quote!(::jwt_runtime),
    }
}

/// `<runtime>::__private`, the hidden module generated code calls.
pub(crate) fn private() -> TokenStream {
    let runtime = runtime();
    quote!(#runtime::__private)
}

/// `<runtime>::__private::poem`.
pub(crate) fn poem() -> TokenStream {
    let p = private();
    quote!(#p::poem)
}
