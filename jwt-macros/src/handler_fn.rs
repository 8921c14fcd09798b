//! Reading the user's handler: its `#[handler]` attribute and the parameters that come from the
//! verified token.

use syn::spanned::Spanned;
use syn::{Attribute, FnArg, GenericArgument, GenericParam, ItemFn, PathArguments, Type};

use crate::expand::Errors;
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

pub(crate) fn is_oai_attr(attr: &Attribute) -> bool {
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
    if name == "Option"
        && let PathArguments::AngleBracketed(a) = args
        && let Some(GenericArgument::Type(inner)) = a.args.first()
        && classify(inner) == TokenParam::Required
    {
        return TokenParam::Optional;
    }
    TokenParam::No
}

/// The handler, checked and with its token parameters rewritten.
pub(crate) struct HandlerFn {
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
/// `__private::Protected<T>` extractors. `Err` with the function to emit instead when it cannot be
/// wrapped (the reasons are in `errors`); misuses that still leave a wrappable handler are
/// recorded and it is returned.
pub(crate) fn analyze(
    mut item: ItemFn,
    macro_name: &str,
    optional: bool,
    errors: &mut Errors,
) -> Result<HandlerFn, Box<ItemFn>> {
    if let Some(oai) = item.attrs.iter().find(|a| is_oai_attr(a)) {
        errors.push(syn::Error::new(
            oai.span(),
            format!(
                "`#[{macro_name}]` protects Poem `#[handler]` functions; for a poem-openapi \
                 operation, put `#[jwt_runtime::openapi]` above `#[OpenApi]` and `#[{macro_name}]` \
                 on the method"
            ),
        ));
        return Err(Box::new(item));
    }
    if let Some(FnArg::Receiver(receiver)) = item.sig.inputs.first() {
        errors.push(syn::Error::new(
            receiver.span(),
            format!(
                "`#[{macro_name}]` applies to free handler functions, not methods: a Poem \
                 `#[handler]` is a free `async fn` (move it out of the `impl` block); for a \
                 poem-openapi operation, put `#[jwt_runtime::openapi]` above `#[OpenApi]` and \
                 keep `#[{macro_name}]` on the method, under that name (`#[jwt_runtime::openapi]` \
                 finds `#[jwt_required]` and `#[admin_required]` by name: imported under another \
                 name, they are not seen)"
            ),
        ));
        return Err(Box::new(item));
    }
    if !item.attrs.iter().any(is_handler_attr) {
        return Err(Box::new(no_handler(item, macro_name, optional, errors)));
    }
    if !type_params_only(&item.sig.generics, macro_name, errors) {
        return Err(Box::new(unwrapped(item)));
    }
    let users = rewrite_params(&mut item.sig, optional, errors);
    let (docs, rest): (Vec<Attribute>, Vec<Attribute>) =
        item.attrs.drain(..).partition(|a| a.path().is_ident("doc"));
    item.attrs = rest;
    Ok(HandlerFn { item, docs, users })
}

/// Attributes that are certainly not Poem's `#[handler]` under another name.
const NOT_A_HANDLER: &[&str] = &[
    "doc",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "cfg",
    "cfg_attr",
    "must_use",
    "deprecated",
    "inline",
    "cold",
    "track_caller",
];

/// No `#[handler]` below the macro. It looks for it by name (a proc macro cannot resolve a path):
/// when another attribute follows, that may be `poem::handler` imported under another name, so
/// the error names it and the fix, and the token parameters are rewritten all the same (if it is
/// the handler, it then compiles without a cascade of "this handler needs `#[jwt_required]`").
/// When nothing follows, the macro is below `#[handler]` or there is none: the function is
/// emitted unchanged.
fn no_handler(mut item: ItemFn, macro_name: &str, optional: bool, errors: &mut Errors) -> ItemFn {
    let candidate = item.attrs.iter().find(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| !NOT_A_HANDLER.contains(&s.ident.to_string().as_str()))
    });
    let Some(candidate) = candidate else {
        errors.push(syn::Error::new(
            item.sig.ident.span(),
            format!(
                "`#[{macro_name}]` must be placed above `#[handler]`: no `#[handler]` attribute \
                 follows it on this function (when `#[handler]` is above it, the errors that \
                 follow about this handler's parameters come from that order: `#[handler]` \
                 expanded first, unprotected, and they go away with it)"
            ),
        ));
        return item;
    };
    let written = quote::ToTokens::to_token_stream(candidate.path())
        .to_string()
        .replace(' ', "");
    errors.push(syn::Error::new(
        candidate.path().span(),
        format!(
            "`#[{macro_name}]` must be placed above `#[handler]`, which it finds by its name: \
             `#[{written}]` is not recognized; if it is `poem::handler` imported under another \
             name, write `#[handler]` or `#[poem::handler]`"
        ),
    ));
    rewrite_params(&mut item.sig, optional, &mut Errors::default());
    item
}

/// `true` when every generic parameter is a type parameter: what Poem's `#[handler]` turns into
/// the endpoint struct's `PhantomData` fields. A lifetime or const parameter would be an unused
/// parameter of that struct (Poem's own expansion fails on it), so it is refused here, clearly.
fn type_params_only(generics: &syn::Generics, macro_name: &str, errors: &mut Errors) -> bool {
    let mut ok = true;
    for param in &generics.params {
        let what = match param {
            GenericParam::Type(_) => continue,
            GenericParam::Lifetime(_) => {
                "a lifetime parameter: leave lifetimes elided in the parameters (`Data<&T>`)"
            }
            GenericParam::Const(_) => {
                "a const parameter: take a type parameter, or read the value from the request"
            }
        };
        errors.push(syn::Error::new(
            param.span(),
            format!(
                "`#[{macro_name}]` takes type parameters, as Poem's `#[handler]` does, not {what}"
            ),
        ));
        ok = false;
    }
    ok
}

/// The function to emit when it cannot be wrapped: unchanged, except that a lifetime or const
/// parameter also drops its `#[handler]`, whose own expansion fails on it with errors that point
/// away from the fix (and then reports every token parameter as unprotected).
fn unwrapped(mut item: ItemFn) -> ItemFn {
    let type_params_only = item
        .sig
        .generics
        .params
        .iter()
        .all(|p| matches!(p, GenericParam::Type(_)));
    if !type_params_only {
        item.attrs.retain(|a| !is_handler_attr(a));
    }
    item
}

/// The types of the parameters that come from the verified token (`Identity`,
/// `Option<Jwt<C>>`, ...), as written.
pub(crate) fn token_param_types(sig: &syn::Signature) -> Vec<&Type> {
    typed_params(sig)
        .filter(|ty| classify(ty) != TokenParam::No)
        .collect()
}

/// The types of the `Guarded<T>` parameters (a route group's values), as written.
pub(crate) fn guarded_param_types(sig: &syn::Signature) -> Vec<&Type> {
    typed_params(sig)
        .filter(|ty| last_segment_name(ty).is_some_and(|(name, _)| name == "Guarded"))
        .collect()
}

fn typed_params(sig: &syn::Signature) -> impl Iterator<Item = &Type> {
    sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(arg) => Some(&*arg.ty),
        FnArg::Receiver(_) => None,
    })
}

/// Rewrites the parameters that come from the verified token into `__private::Protected<T>`
/// extractors (recording a non-`Option` one on an `optional` route), and returns the `U` of every
/// `CurrentUser<U>` among them.
pub(crate) fn rewrite_params(
    sig: &mut syn::Signature,
    optional: bool,
    errors: &mut Errors,
) -> Vec<Type> {
    let private = paths::private();
    let mut users = Vec::new();
    for input in sig.inputs.iter_mut() {
        let FnArg::Typed(arg) = input else {
            continue;
        };
        let kind = classify(&arg.ty);
        if kind == TokenParam::No {
            continue;
        }
        if optional && kind == TokenParam::Required {
            let ty = &arg.ty;
            errors.push(syn::Error::new(
                ty.span(),
                format!(
                    "on an `optional` route there may be no token: take `Option<{}>`",
                    quote::ToTokens::to_token_stream(ty)
                        .to_string()
                        .replace(' ', "")
                        .replace(',', ", ")
                ),
            ));
        }
        users.extend(current_user_type(&arg.ty));
        let (pat, ty) = (&arg.pat, &arg.ty);
        let span = ty.span();
        *arg.pat = syn::parse_quote_spanned!(span=> #private::Protected(#pat));
        *arg.ty = syn::parse_quote_spanned!(span=> #private::Protected<#ty>);
    }
    users
}
