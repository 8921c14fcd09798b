//! Reading the user's handler: its `#[handler]` attribute and the parameters that come from the
//! verified token.

use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, GenericArgument, ItemFn, PathArguments, Type};

use crate::paths;

/// Types a handler can take from the verified token (by their last path segment).
const TOKEN_PARAMS: &[&str] = &[
    "Identity",
    "Jwt",
    "JwtHeader",
    "TokenLocation",
    "CurrentUser",
];

/// `true` for `handler`, `poem::handler`, `::poem::handler`.
fn is_handler_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "handler")
}

fn is_oai_attr(attr: &Attribute) -> bool {
    attr.path().is_ident("oai")
}

fn last_segment_name(ty: &Type) -> Option<(String, &PathArguments)> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .map(|s| (s.ident.to_string(), &s.arguments)),
        Type::Group(g) => last_segment_name(&g.elem),
        Type::Paren(p) => last_segment_name(&p.elem),
        _ => None,
    }
}

/// How a parameter relates to the token.
#[derive(Debug, PartialEq, Eq)]
enum TokenParam {
    /// Not from the token: a normal Poem extractor.
    No,
    /// `Identity`, `Jwt<C>`, ...
    Required,
    /// `Option<Identity>`, ...
    Optional,
}

fn classify(ty: &Type) -> TokenParam {
    let Some((name, args)) = last_segment_name(ty) else {
        return TokenParam::No;
    };
    if TOKEN_PARAMS.contains(&name.as_str()) {
        return TokenParam::Required;
    }
    if name == "Option" {
        if let PathArguments::AngleBracketed(a) = args {
            if let Some(GenericArgument::Type(inner)) = a.args.first() {
                if classify(inner) == TokenParam::Required {
                    return TokenParam::Optional;
                }
            }
        }
    }
    TokenParam::No
}

/// The handler, checked and with its token parameters rewritten.
pub struct HandlerFn {
    pub item: ItemFn,
    /// The attributes that stay on the public struct (docs).
    pub docs: Vec<Attribute>,
    /// The `U` of every `CurrentUser<U>` parameter: their loaders run before the handler.
    pub users: Vec<Type>,
}

/// The `U` of `CurrentUser<U>` or `Option<CurrentUser<U>>`.
fn current_user_type(ty: &Type) -> Option<Type> {
    let (name, args) = last_segment_name(ty)?;
    let PathArguments::AngleBracketed(a) = args else {
        return None;
    };
    let Some(GenericArgument::Type(inner)) = a.args.first() else {
        return None;
    };
    match name.as_str() {
        "CurrentUser" => Some(inner.clone()),
        "Option" => current_user_type(inner),
        _ => None,
    }
}

/// Finds `#[handler]` below the macro and rewrites token parameters into
/// `__private::Protected<T>` extractors. An `Err` is fatal (the item cannot be wrapped); the
/// second value reports misuses that still leave a wrappable handler.
pub fn analyze(
    mut item: ItemFn,
    macro_name: &str,
    optional: bool,
) -> syn::Result<(HandlerFn, Option<syn::Error>)> {
    if let Some(oai) = item.attrs.iter().find(|a| is_oai_attr(a)) {
        return Err(syn::Error::new(
            oai.span(),
            format!("`#[{macro_name}]` does not support poem-openapi operations yet"),
        ));
    }
    if !item.attrs.iter().any(is_handler_attr) {
        return Err(syn::Error::new(
            item.sig.ident.span(),
            format!(
                "`#[{macro_name}]` must be placed above `#[handler]`: no `#[handler]` attribute \
                 follows it on this function"
            ),
        ));
    }
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.sig.generics.span(),
            format!("`#[{macro_name}]` does not support generic handlers"),
        ));
    }
    let private = paths::private();
    let mut errors: Option<syn::Error> = None;
    let mut users = Vec::new();
    for input in item.sig.inputs.iter_mut() {
        let FnArg::Typed(arg) = input else {
            return Err(syn::Error::new(
                input.span(),
                "a handler cannot take `self`",
            ));
        };
        let kind = classify(&arg.ty);
        if kind == TokenParam::No {
            continue;
        }
        if optional && kind == TokenParam::Required {
            let ty = &arg.ty;
            let e = syn::Error::new(
                ty.span(),
                format!(
                    "on an `optional` route there may be no token: take `Option<{}>`",
                    quote::ToTokens::to_token_stream(ty)
                        .to_string()
                        .replace(' ', "")
                        .replace(',', ", ")
                ),
            );
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
        users.extend(current_user_type(&arg.ty));
        let (pat, ty) = (&arg.pat, &arg.ty);
        let span = ty.span();
        *arg.pat = syn::parse_quote_spanned!(span=> #private::Protected(#pat));
        *arg.ty = syn::parse2(quote_spanned!(span=> #private::Protected<#ty>))?;
    }
    let (docs, rest): (Vec<Attribute>, Vec<Attribute>) =
        item.attrs.drain(..).partition(|a| a.path().is_ident("doc"));
    item.attrs = rest;
    Ok((HandlerFn { item, docs, users }, errors))
}
