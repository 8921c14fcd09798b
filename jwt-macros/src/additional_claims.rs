//! `#[additional_claims]`: an async (or plain) fn becomes the reference's
//! `additional_claims_loader`, registered with `JwtManager::additional_claims(name)`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::expand;
use crate::paths;

fn check(item: &ItemFn) -> syn::Result<()> {
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.sig.generics.span(),
            "an `#[additional_claims]` loader cannot be generic",
        ));
    }
    let mut inputs = item.sig.inputs.iter();
    let wrong = "an `#[additional_claims]` loader takes one argument, the identity: `identity: &serde_json::Value`";
    match (inputs.next(), inputs.next()) {
        (Some(FnArg::Typed(arg)), None) => {
            if !matches!(*arg.ty, Type::Reference(_)) {
                return Err(syn::Error::new(
                    arg.ty.span(),
                    "the identity argument must be `&serde_json::Value`",
                ));
            }
        }
        (Some(extra), Some(_)) => return Err(syn::Error::new(extra.span(), wrong)),
        (Some(receiver), None) => return Err(syn::Error::new(receiver.span(), wrong)),
        (None, _) => return Err(syn::Error::new(item.sig.paren_token.span.join(), wrong)),
    }
    if let ReturnType::Default = item.sig.output {
        return Err(syn::Error::new(
            item.sig.ident.span(),
            "an `#[additional_claims]` loader must return the claims: a `serde_json::Value` object or a `serde_json::Map`",
        ));
    }
    Ok(())
}

/// Expands `#[additional_claims]` on `item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item_fn = match expand::parse_fn(item, "additional_claims", "a function") {
        Ok(f) => f,
        Err(tokens) => return tokens,
    };
    if !args.is_empty() {
        let err = syn::Error::new(args.span(), "`#[additional_claims]` takes no arguments")
            .into_compile_error();
        return quote!(#err #item_fn);
    }
    if let Err(e) = check(&item_fn) {
        let err = e.into_compile_error();
        return quote!(#err #item_fn);
    }
    let private = paths::private();
    let ident = item_fn.sig.ident.clone();
    let vis = std::mem::replace(&mut item_fn.vis, syn::Visibility::Inherited);
    let (docs, rest): (Vec<_>, Vec<_>) = item_fn
        .attrs
        .drain(..)
        .partition(|a| a.path().is_ident("doc"));
    item_fn.attrs = rest;
    let awaited = item_fn.sig.asyncness.map(|_| quote!(.await));
    let ret_span = match &item_fn.sig.output {
        ReturnType::Type(_, ret) => ret.span(),
        ReturnType::Default => item_fn.sig.ident.span(),
    };
    let convert = quote_spanned!(ret_span=> #private::IntoClaims::into_claims(__jwt_claims));
    quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #vis struct #ident;

        const _: () = {
            #[automatically_derived]
            impl #private::AdditionalClaimsLoader for #ident {
                fn load<'__jwt_a>(
                    &'__jwt_a self,
                    __jwt_identity: &'__jwt_a #private::Value,
                ) -> #private::BoxFuture<'__jwt_a, #private::Result<#private::JsonObject, #private::JwtError>> {
                    #item_fn
                    #private::Box::pin(async move {
                        let __jwt_claims = #ident(__jwt_identity)#awaited;
                        #convert
                    })
                }
            }
        };
    }
}
