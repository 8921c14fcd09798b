//! What every macro shares: reading the annotated function (or emitting the error beside the
//! untouched item, so the rest of the crate still type-checks), and collecting errors so that each
//! misuse is reported once, all of them in one compile.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ItemFn;

/// The annotated item as a function, or the tokens to emit instead: the error, then the item
/// unchanged.
pub(crate) fn parse_fn(
    item: TokenStream,
    macro_name: &str,
    what: &str,
) -> Result<ItemFn, TokenStream> {
    syn::parse2::<ItemFn>(item.clone()).map_err(|_| {
        let err = syn::Error::new(
            Span::call_site(),
            format!("`#[{macro_name}]` applies to {what}"),
        )
        .into_compile_error();
        quote!(#err #item)
    })
}

/// Errors found while expanding, emitted together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Records `error`.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records the error of `result`, if any, and returns its value.
    pub(crate) fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// The recorded errors as one, if any.
    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }

    /// Every recorded error as `compile_error!` invocations (nothing when there is none).
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }
}
