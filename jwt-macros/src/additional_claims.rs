//! `#[additional_claims]`: an async (or plain) fn becomes the reference's
//! `additional_claims_loader`, registered with `JwtManager::additional_claims(name)`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::expand;
use crate::paths;

/// The loader's second argument: application state `&T`, read from the manager's data.
struct State<'a> {
    /// `T`, where the user wrote it (errors about it point there).
    ty: &'a Type,
}

const WRONG_ARGS: &str = "an `#[additional_claims]` loader takes the identity and, optionally, \
     application state: `(identity: &serde_json::Value)` or `(identity: &serde_json::Value, state: &T)` \
     with `T` registered by `JwtManagerBuilder::data(value)`";

/// `str`, a slice or a trait object: a type no value of which can be registered as state.
fn unsized_type(ty: &Type) -> bool {
    match ty {
        Type::Slice(_) | Type::TraitObject(_) => true,
        Type::Path(p) => p.qself.is_none() && p.path.is_ident("str"),
        Type::Paren(inner) => unsized_type(&inner.elem),
        _ => false,
    }
}

/// The second argument: a shared reference to a sized type.
fn state_argument(arg: &FnArg) -> syn::Result<State<'_>> {
    let ty = match arg {
        FnArg::Typed(arg) => &*arg.ty,
        FnArg::Receiver(receiver) => return Err(syn::Error::new(receiver.span(), WRONG_ARGS)),
    };
    match ty {
        Type::Reference(r) if r.mutability.is_none() && unsized_type(&r.elem) => {
            Err(syn::Error::new_spanned(
                &r.elem,
                "application state is one registered value of a sized type: wrap it in a struct \
                 (`struct Tenant(String)`, then `&Tenant`) and register that with \
                 `JwtManagerBuilder::data(value)`",
            ))
        }
        Type::Reference(r) if r.mutability.is_none() => Ok(State { ty: &r.elem }),
        other => Err(syn::Error::new_spanned(
            other,
            "the state argument of an `#[additional_claims]` loader is a shared reference `&T`, \
             to a value registered with `JwtManagerBuilder::data(value)`",
        )),
    }
}

/// Checks the signature; returns the state argument's type, if it has one.
fn check(item: &ItemFn) -> syn::Result<Option<State<'_>>> {
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.sig.generics.span(),
            "an `#[additional_claims]` loader cannot be generic",
        ));
    }
    let mut inputs = item.sig.inputs.iter();
    let state = match (inputs.next(), inputs.next(), inputs.next()) {
        (Some(FnArg::Typed(identity)), state, None) => {
            if !matches!(*identity.ty, Type::Reference(_)) {
                return Err(syn::Error::new(
                    identity.ty.span(),
                    "the identity argument must be `&serde_json::Value`",
                ));
            }
            state.map(state_argument).transpose()?
        }
        (_, _, Some(extra)) => return Err(syn::Error::new(extra.span(), WRONG_ARGS)),
        (Some(receiver), _, _) => return Err(syn::Error::new(receiver.span(), WRONG_ARGS)),
        (None, _, _) => {
            return Err(syn::Error::new(
                item.sig.paren_token.span.join(),
                WRONG_ARGS,
            ))
        }
    };
    if let ReturnType::Default = item.sig.output {
        return Err(syn::Error::new(
            item.sig.ident.span(),
            "an `#[additional_claims]` loader must return the claims: a `serde_json::Value` object or a `serde_json::Map`",
        ));
    }
    Ok(state)
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
    let (state_ty, state_span) = match check(&item_fn) {
        Ok(state) => (
            state.as_ref().map(|s| s.ty.clone()),
            state.map(|s| s.ty.span()),
        ),
        Err(e) => {
            let err = e.into_compile_error();
            return quote!(#err #item_fn);
        }
    };
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
    // With state: read it from the manager's data (spanned at the user's `T`, so a type that
    // cannot be state is reported there), and declare it so that `build()` checks it.
    let (read_state, state_arg, required) = match (&state_ty, state_span) {
        (Some(ty), Some(span)) => (
            quote_spanned!(span=> let __jwt_state = #private::AppData::get::<#ty>(__jwt_data)?;),
            quote!(, __jwt_state),
            quote_spanned! {span=>
                fn required_data(&self) -> #private::Vec<#private::DataKey> {
                    #private::state_of::<#ty>()
                }
            },
        ),
        _ => (quote!(), quote!(), quote!()),
    };
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
                    __jwt_data: &'__jwt_a #private::AppData,
                ) -> #private::BoxFuture<'__jwt_a, #private::Result<#private::JsonObject, #private::JwtError>> {
                    #item_fn
                    #private::Box::pin(async move {
                        #read_state
                        let __jwt_claims = #ident(__jwt_identity #state_arg)#awaited;
                        #convert
                    })
                }
                #required
            }
        };
    }
}
