//! `#[user_lookup_loader]`: the function that loads a user type from a verified token (the
//! reference's `user_lookup_loader`). It implements `UserLookup` for the returned type, so
//! `CurrentUser<U>` compiles only where a loader for `U` exists.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::expand;
use crate::paths;

const SIGNATURE: &str = "a user loader has the signature `async fn(token: &VerifiedJwt, req: &poem::Request) -> Option<User>` (the `req` argument may be left out)";

/// The `T` of `Name<T, ...>` when the type's last segment is `name`.
fn first_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(a) => match a.args.first()? {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// `User` from `Option<User>` or `Result<Option<User>, E>`.
fn user_type(ret: &Type) -> Option<&Type> {
    first_arg(ret, "Option").or_else(|| first_arg(first_arg(ret, "Result")?, "Option"))
}

fn check(item: &ItemFn) -> syn::Result<(Type, usize)> {
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.sig.generics.span(),
            "a user loader cannot be generic",
        ));
    }
    let count = item.sig.inputs.len();
    if !(1..=2).contains(&count) {
        return Err(syn::Error::new(item.sig.paren_token.span.join(), SIGNATURE));
    }
    for input in &item.sig.inputs {
        match input {
            FnArg::Typed(arg) if matches!(*arg.ty, Type::Reference(_)) => {}
            other => return Err(syn::Error::new(other.span(), SIGNATURE)),
        }
    }
    let ReturnType::Type(_, ret) = &item.sig.output else {
        return Err(syn::Error::new(
            item.sig.ident.span(),
            "a user loader must return `Option<User>` or `Result<Option<User>, E>`",
        ));
    };
    let user = user_type(ret).ok_or_else(|| {
        syn::Error::new(
            ret.span(),
            "a user loader must return `Option<User>` or `Result<Option<User>, E>`",
        )
    })?;
    Ok((user.clone(), count))
}

/// Expands `#[user_lookup_loader]` on `item`: the function stays as written, plus the
/// `UserLookup` impl of its user type.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn = match expand::parse_fn(item, "user_lookup_loader", "a function") {
        Ok(f) => f,
        Err(tokens) => return tokens,
    };
    if !args.is_empty() {
        let err = syn::Error::new(args.span(), "`#[user_lookup_loader]` takes no arguments")
            .into_compile_error();
        return quote!(#err #item_fn);
    }
    let (user, arity) = match check(&item_fn) {
        Ok(found) => found,
        Err(e) => {
            let err = e.into_compile_error();
            return quote!(#err #item_fn);
        }
    };
    let private = paths::private();
    let poem = paths::poem();
    let ident = &item_fn.sig.ident;
    let awaited = item_fn.sig.asyncness.map(|_| quote!(.await));
    let call_args = if arity == 2 {
        quote!(__jwt_token, __jwt_req)
    } else {
        quote!(__jwt_token)
    };
    let ret_span = match &item_fn.sig.output {
        ReturnType::Type(_, ret) => ret.span(),
        ReturnType::Default => ident.span(),
    };
    let convert =
        quote_spanned!(ret_span=> #private::IntoLookup::<#user>::into_lookup(__jwt_found));
    quote! {
        #item_fn

        #[automatically_derived]
        impl #private::UserLookup for #user {
            fn lookup<'__jwt_a>(
                __jwt_token: &'__jwt_a #private::VerifiedJwt,
                __jwt_req: &'__jwt_a #poem::Request,
            ) -> #private::BoxFuture<'__jwt_a, #private::Result<#private::Option<Self>, #private::JwtError>> {
                let _ = &__jwt_req;
                #private::Box::pin(async move {
                    let __jwt_found = #ident(#call_args)#awaited;
                    #convert
                })
            }
        }
    }
}
