//! `#[jwt_runtime::openapi]`: above poem-openapi's `#[OpenApi]`, it reads `#[jwt_required]` /
//! `#[admin_required]` on the `#[oai]` methods (with the same arguments and checks as on a
//! handler) and rewrites each of them before `#[OpenApi]` sees it:
//!
//! - the token parameters become `__private::Protected<T>` extractors, as on a handler;
//! - one hidden parameter, `__private::OpenApiSecurity<LOCATIONS, OPTIONAL, REFRESH>`, declares
//!   the operation's security schemes in the document (with the scopes of `scopes = "..."` /
//!   `any_scopes = "..."` in its requirement);
//! - `#[oai(transform = "...")]` names a generated function that wraps the operation's endpoint
//!   in the pipeline (`call_protected`), chaining a `transform` the user wrote;
//! - the return type `R` becomes `__private::OpenApiResponses<R, Refusals>` (the body, unchanged,
//!   runs in an `async` block typed `R`): its `ApiResponse::meta` adds the refusals the
//!   arguments make possible (a generated `Refusals` type says which) to `R`'s own responses;
//! - a last paragraph of the method's docs, `JWT policy: ...`, puts the policy in the operation's
//!   description.
//!
//! `#[openapi(jwt_required(...))]` (or `admin_required(...)`) names the impl's protection: every
//! `#[oai]` operation without an attribute of its own is rewritten as if it had that one. An
//! operation's own attribute **narrows** it: `narrow::narrow` combines the impl's arguments with
//! the operation's into the one policy the route runs and documents (both role requirements,
//! both scope requirements, the issuers both accept, the stricter `dpop`, `fresh` from either
//! side, ...), and refuses at compile time, naming the impl's argument, what cannot be combined;
//! no requirement of the impl is ever dropped silently. The two opt-outs are explicit:
//! `#[jwt_required(optional)]` (the operation's attribute is then its whole protection: anonymous
//! requests are served, a sent token is verified) and `#[jwt_public]` (consumed here, an error
//! anywhere else), which leaves the operation public. `Guarded<T>` parameters are refused in
//! these impls.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::{Attribute, ImplItem, ImplItemFn, ItemImpl, LitStr, Meta, Token};

use crate::args::{self, Grammar, PolicyArgs, RoleList};
use crate::expand::Errors;
use crate::handler_fn;
use crate::narrow;
use crate::paths;
use crate::protect::{self, Macro};

const OPENAPI: Grammar = Grammar {
    macro_name: "openapi",
    keys: &["locations", "jwt_required", "admin_required"],
    refused: &[],
};

/// The name of the marker that opts an operation out of the impl's protection.
const PUBLIC_MARKER: &str = "jwt_public";

/// `#[jwt_runtime::openapi(jwt_required(...))]` / `(admin_required(...))`: the protection of
/// every `#[oai]` operation of the impl that names none of its own (and is not `#[jwt_public]`).
struct DefaultProtection {
    which: Macro,
    args: PolicyArgs,
    /// `jwt_required(roles = "staff")`, as written, for the messages of [`narrow`].
    written: String,
}

/// The attribute's arguments: `locations = "..."` and the impl's protection, if any. An error in
/// the protection's own arguments is recorded and the protection kept with default arguments, so
/// the operations do not report a cascade of "needs `#[jwt_required]`" besides it; likewise an
/// error elsewhere in the attribute.
fn parse_attribute(
    args: TokenStream,
    errors: &mut Errors,
) -> (PolicyArgs, Option<DefaultProtection>) {
    let mut default = None;
    let mut nested = Errors::default();
    let parsed = args::parse_with(args, &OPENAPI, |meta| {
        let (which, grammar) = match meta.path.get_ident()?.to_string().as_str() {
            "jwt_required" => (Macro::JwtRequired, &protect::JWT_REQUIRED),
            "admin_required" => (Macro::AdminRequired, &protect::ADMIN_REQUIRED),
            _ => return None,
        };
        Some(default_protection(
            meta,
            which,
            grammar,
            &mut default,
            &mut nested,
        ))
    });
    let failed = parsed.is_err();
    let api_args = errors.take(parsed).unwrap_or_default();
    if let Some(e) = nested.into_error() {
        errors.push(e);
    }
    if failed && default.is_none() {
        // The attribute's error is the one to fix (a misspelled `jwt_required`, maybe): the
        // operations expand as if protected, so that they report nothing more meanwhile.
        default = Some(DefaultProtection {
            which: Macro::JwtRequired,
            args: PolicyArgs::default(),
            written: "jwt_required".to_string(),
        });
    }
    (api_args, default)
}

/// Reads `jwt_required` / `jwt_required(...)` (or `admin_required`) into `slot`.
fn default_protection(
    meta: &syn::meta::ParseNestedMeta,
    which: Macro,
    grammar: &Grammar,
    slot: &mut Option<DefaultProtection>,
    errors: &mut Errors,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(
            "an impl has one protection: name `jwt_required(...)` or `admin_required(...)` \
             once, and give an operation that needs more its own attribute (which narrows the \
             impl's protection)",
        ));
    }
    let tokens = if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?
    } else if meta.input.peek(Token![=]) {
        return Err(meta.error(format!(
            "write `{0}` or `{0}(...)` with the arguments of `#[{0}]` in parentheses",
            grammar.macro_name
        )));
    } else {
        TokenStream::new()
    };
    let written = if tokens.is_empty() {
        grammar.macro_name.to_string()
    } else {
        format!("{}({tokens})", grammar.macro_name)
    };
    let mut args = errors
        .take(args::parse(tokens, grammar))
        .unwrap_or_default();
    if let Some((lit, _)) = args.locations.take() {
        errors.push(syn::Error::new(
            lit.span(),
            format!(
                "write `locations` on the attribute, not in `{}(...)`: \
                 `#[jwt_runtime::openapi(locations = \"{}\", {}(...))]`; they are the locations \
                 of every operation, protected by the impl or by an attribute of its own",
                grammar.macro_name,
                lit.value(),
                grammar.macro_name
            ),
        ));
    }
    *slot = Some(DefaultProtection {
        which,
        args,
        written,
    });
    Ok(())
}

/// The locations an operation documents and reads when neither it nor the attribute names any:
/// the reference's default.
const DEFAULT_LOCATIONS: &str = "headers";

fn is_openapi_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "OpenApi")
}

/// The name of the implementing type, for the generated functions' names.
fn self_name(item: &ItemImpl) -> String {
    match &*item.self_ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Expands `#[openapi(...)]` on `item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (api_args, default) = parse_attribute(args, &mut errors);
    let mut item_impl = match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(i) => i,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                "`#[jwt_runtime::openapi]` applies to an `impl` block under poem-openapi's \
                 `#[OpenApi]`",
            )
            .into_compile_error();
            return quote!(#err #item);
        }
    };
    if !item_impl.attrs.iter().any(is_openapi_attr) {
        errors.push(syn::Error::new(
            Span::call_site(),
            "`#[jwt_runtime::openapi]` must be placed above `#[OpenApi]`: no `#[OpenApi]` \
             attribute follows it on this impl block",
        ));
        // The policy macros of the methods would only repeat it.
        for item in &mut item_impl.items {
            if let ImplItem::Fn(method) = item {
                method
                    .attrs
                    .retain(|a| protect::policy_macro_name(a).is_none() && !is_public_marker(a));
            }
        }
        let errors = errors.into_compile_errors();
        return quote!(#errors #item_impl);
    }
    let self_name = self_name(&item_impl);
    let mut transforms = Vec::new();
    let mut consumed = Vec::new();
    for item in &mut item_impl.items {
        if let ImplItem::Fn(method) = item {
            transforms.extend(protect_operation(
                method,
                &api_args,
                default.as_ref(),
                &self_name,
                &mut consumed,
                &mut errors,
            ));
        }
    }
    let errors = errors.into_compile_errors();
    let uses = uses_of(&consumed);
    quote!(#errors #item_impl #(#transforms)* #uses)
}

/// The policy attributes this macro consumed stay names the compiler resolves: one `use <path>
/// as _;` per path as the user wrote it, so that the user's `use jwt_runtime::jwt_required;` is
/// used (no false `unused import`). A glob import of the runtime's policy macros, which an
/// explicit import shadows, lets the path resolve when the user imported nothing.
fn uses_of(consumed: &[syn::Path]) -> TokenStream {
    if consumed.is_empty() {
        return TokenStream::new();
    }
    let private = paths::private();
    quote! {
        #[allow(unused_imports)]
        use #private::policy_macros::*;
        #(
            #[allow(unused_imports)]
            use #consumed as _;
        )*
    }
}

/// `#[jwt_public]`, by its last segment.
fn is_public_marker(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == PUBLIC_MARKER)
}

/// `Guarded<T>` reads what a route group's `JwtRequired` recorded, and the document cannot show
/// a group: in these impls it is a compile error, with the fix.
fn refuse_guarded(method: &ImplItemFn, protected: bool, errors: &mut Errors) {
    for ty in handler_fn::guarded_param_types(&method.sig) {
        let fix = if protected {
            "this operation is protected here: take the value itself (`Identity`, `Jwt<C>`, \
             `CurrentUser<U>`, ...)"
        } else {
            "protect the operation here (`#[jwt_required(...)]` on it, or \
             `#[jwt_runtime::openapi(jwt_required(...))]` for every operation of the impl) and \
             take the value itself (`Identity`, `Jwt<C>`, ...)"
        };
        errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "`Guarded<T>` reads the protection of a `JwtRequired` route group, which the \
                 OpenAPI document cannot show (a client generated from it would not know the \
                 operation needs a token): {fix}"
            ),
        ));
    }
}

/// Removes `#[jwt_public]` from an operation and checks it: `Ok(true)` when the operation is
/// public (nothing more to do), `Ok(false)` when there was no marker.
fn take_public_marker(
    method: &mut ImplItemFn,
    default: Option<&DefaultProtection>,
    consumed: &mut Vec<syn::Path>,
    errors: &mut Errors,
) -> bool {
    let Some(index) = method.attrs.iter().position(is_public_marker) else {
        return false;
    };
    let marker = method.attrs.remove(index);
    consumed.push(marker.path().clone());
    if !matches!(marker.meta, Meta::Path(_)) {
        errors.push(syn::Error::new_spanned(
            &marker.meta,
            "`#[jwt_public]` takes no arguments",
        ));
    }
    if let Some(own) = method
        .attrs
        .iter()
        .find(|a| protect::policy_macro_name(a).is_some())
    {
        errors.push(syn::Error::new_spanned(
            &marker,
            format!(
                "`#[jwt_public]` and `#[{}]` on one operation: it is public or protected; remove \
                 one of them",
                protect::policy_macro_name(own).unwrap_or_default()
            ),
        ));
        // The operation's own protection applies.
        return false;
    }
    if !method.attrs.iter().any(handler_fn::is_oai_attr) {
        errors.push(syn::Error::new_spanned(
            &marker,
            "`#[jwt_public]` marks an `#[oai(...)]` operation as public: this method has no \
             `#[oai]` attribute (methods without it are no operations, and are never protected)",
        ));
        return true;
    }
    if default.is_none() {
        errors.push(syn::Error::new_spanned(
            &marker,
            "`#[jwt_public]` opts an operation out of the impl's protection, and this impl has \
             none: its operations without `#[jwt_required]` are public already; remove \
             `#[jwt_public]`, or protect the impl with \
             `#[jwt_runtime::openapi(jwt_required)]`",
        ));
        return true;
    }
    for ty in handler_fn::token_param_types(&method.sig) {
        let written = quote!(#ty).to_string().replace(' ', "");
        errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "`{written}` comes from a verified token, and a `#[jwt_public]` operation has \
                 none: remove `#[jwt_public]` (the impl's protection then applies), or write \
                 `#[jwt_required(optional)]` and take `Option<...>`"
            ),
        ));
    }
    // Rewritten all the same, so the error above is the only one.
    handler_fn::rewrite_params(&mut method.sig, false, &mut Errors::default());
    true
}

/// Rewrites one operation if its own policy macro or the impl's protection covers it; returns
/// its transform function.
fn protect_operation(
    method: &mut ImplItemFn,
    api_args: &PolicyArgs,
    default: Option<&DefaultProtection>,
    self_name: &str,
    consumed: &mut Vec<syn::Path>,
    errors: &mut Errors,
) -> Option<TokenStream> {
    if take_public_marker(method, default, consumed, errors) {
        refuse_guarded(method, false, errors);
        return None;
    }
    let Some(index) = method
        .attrs
        .iter()
        .position(|a| protect::policy_macro_name(a).is_some())
    else {
        let default = default.filter(|_| method.attrs.iter().any(handler_fn::is_oai_attr));
        refuse_guarded(method, default.is_some(), errors);
        let default = default?;
        return protect_with(
            method,
            default.which,
            default.args.clone(),
            api_args,
            self_name,
            errors,
        );
    };
    refuse_guarded(method, true, errors);
    let attr = method.attrs.remove(index);
    consumed.push(attr.path().clone());
    let (which, grammar) = match protect::policy_macro_name(&attr).as_deref() {
        Some("admin_required") => (Macro::AdminRequired, &protect::ADMIN_REQUIRED),
        _ => (Macro::JwtRequired, &protect::JWT_REQUIRED),
    };
    let tokens = match &attr.meta {
        Meta::Path(_) => TokenStream::new(),
        Meta::List(list) => list.tokens.clone(),
        Meta::NameValue(nv) => {
            errors.push(syn::Error::new_spanned(
                nv,
                format!(
                    "write `#[{}(...)]` with its arguments in parentheses",
                    grammar.macro_name
                ),
            ));
            TokenStream::new()
        }
    };
    let written = tokens.to_string();
    let args = errors
        .take(args::parse(tokens, grammar))
        .unwrap_or_default();
    if let Some(stacked) = protect::stacked_policy(which, &written, &mut method.attrs) {
        errors.push(stacked);
    }
    if !method.attrs.iter().any(handler_fn::is_oai_attr) {
        errors.push(syn::Error::new_spanned(
            &attr,
            format!(
                "`#[{}]` in a `#[jwt_runtime::openapi]` impl protects `#[oai(...)]` operations: \
                 this method has no `#[oai]` attribute",
                grammar.macro_name
            ),
        ));
        return None;
    }
    let (which, args) = match default.filter(|_| args.optional.is_none()) {
        // `optional` is the opt-out: the operation's attribute is its whole protection.
        None => (which, args),
        Some(imp) => {
            let imp = narrow::Protection {
                which: imp.which,
                args: &imp.args,
                written: &imp.written,
            };
            let op = narrow::Protection {
                which,
                args: &args,
                written: &written,
            };
            match narrow::narrow(&imp, &op, &attr) {
                Ok(combined) => combined,
                Err(e) => {
                    errors.push(e);
                    // Expanded with its own arguments, so the error above is the only one.
                    (which, args)
                }
            }
        }
    };
    protect_with(method, which, args, api_args, self_name, errors)
}

/// Rewrites an `#[oai]` operation under the protection `which(args)`: its token parameters,
/// security parameter, transform, return type and description.
fn protect_with(
    method: &mut ImplItemFn,
    which: Macro,
    mut args: PolicyArgs,
    api_args: &PolicyArgs,
    self_name: &str,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let oai = method.attrs.iter().position(handler_fn::is_oai_attr)?;
    if args.locations.is_none() {
        args.locations = api_args.locations.clone().or_else(|| {
            Some((
                LitStr::new(DEFAULT_LOCATIONS, Span::call_site()),
                vec![DEFAULT_LOCATIONS.to_string()],
            ))
        });
    }
    let mut bits = 0u8;
    if let Some((lit, names)) = &args.locations {
        for name in names {
            match name.as_str() {
                "headers" => bits |= 1,
                "cookies" => bits |= 2,
                "query_string" => bits |= 4,
                _ => errors.push(syn::Error::new(
                    lit.span(),
                    "the `json` location cannot be declared as an OpenAPI security scheme: \
                     protect this operation through `headers`, `cookies` or `query_string`",
                )),
            }
        }
    }
    let optional = args.optional.is_some();
    let refresh = args.refresh.is_some();
    let users = handler_fn::rewrite_params(&mut method.sig, optional, errors);
    let private = paths::private();
    let (scope_attrs, scope_consts) = scope_requirement(&args, self_name, &method.sig.ident);
    method.sig.inputs.push(syn::parse_quote!(
        #(#scope_attrs)*
        __jwt_security: #private::OpenApiSecurity<#bits, #optional, #refresh>
    ));
    let name = format_ident!("__jwt_openapi_{}_{}", self_name, method.sig.ident);
    let marker = format_ident!("__JwtOpenApi_{}_{}", self_name, method.sig.ident);
    let previous = set_transform(&mut method.attrs[oai], &name, &marker, errors);
    let transform = transform_fn(which, &args, &users, &name, previous);
    let refusals = refusals_type(which, &args, bits, !users.is_empty(), &marker);
    document_policy(which, &args, &mut method.attrs);
    wrap_return(method, &marker);
    Some(quote!(#scope_consts #transform #refusals))
}

/// The type that tells the operation's `OpenApiResponses` what its protection can refuse.
fn refusals_type(
    which: Macro,
    args: &PolicyArgs,
    locations: u8,
    users: bool,
    marker: &syn::Ident,
) -> TokenStream {
    let private = paths::private();
    let mut flags = Vec::new();
    let mut bit = |on: bool, name: &str| {
        if on {
            let ident = format_ident!("{}", name);
            flags.push(quote!(#private::#ident));
        }
    };
    bit(args.optional.is_some(), "OPENAPI_OPTIONAL");
    bit(args.refresh.is_some(), "OPENAPI_REFRESH");
    bit(args.fresh.is_some(), "OPENAPI_FRESH");
    bit(
        args.skip_revocation_check.is_some(),
        "OPENAPI_SKIP_REVOCATION",
    );
    bit(
        args.verify_type.as_ref().is_some_and(|v| !v.value),
        "OPENAPI_NO_TYPE_CHECK",
    );
    bit(users, "OPENAPI_USERS");
    bit(
        args.dpop
            .is_some_and(|(_, mode)| mode != crate::args::DpopArg::Disabled),
        "OPENAPI_DPOP",
    );
    let locations = u16::from(locations);
    let forbidden = forbidden_messages(which, args);
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub struct #marker;

        #[automatically_derived]
        impl #private::OpenApiRefusals for #marker {
            const FLAGS: u16 = #locations #(| #flags)*;
            const FORBIDDEN: &'static [&'static str] = &[#(#forbidden),*];
        }
    }
}

/// The 403 messages the operation's policies answer (the runtime's own wording).
fn forbidden_messages(which: Macro, args: &PolicyArgs) -> Vec<String> {
    let mut out = Vec::new();
    if matches!(which, Macro::AdminRequired) {
        out.push("Admins only!".to_string());
    }
    let roles = |list: &RoleList, all: bool| match list {
        RoleList::Names(names) if names.len() == 1 => format!("Missing role: {}", names[0]),
        RoleList::Names(names) if all => format!("Missing roles: {}", names.join(", ")),
        RoleList::Names(names) => {
            format!("One of these roles is required: {}", names.join(", "))
        }
        RoleList::Typed(_) => "Missing role: <role>".to_string(),
    };
    if let Some((_, list)) = &args.roles {
        out.push(roles(list, false));
    }
    if let Some((_, list)) = &args.all_roles {
        out.push(roles(list, true));
    }
    if args.policy.is_some() {
        out.push("<the policy's message>".to_string());
    }
    if let Some(scopes) = &args.scopes {
        out.push(match scopes.names.as_slice() {
            [one] => format!("Missing scope: {one}"),
            names if scopes.any => {
                format!("One of these scopes is required: {}", names.join(", "))
            }
            names => format!("Missing scopes: {}", names.join(", ")),
        });
    }
    out
}

/// Appends `JWT policy: ...` to the method's docs: the last paragraph of the operation's
/// description (its summary when the method has no docs).
fn document_policy(which: Macro, args: &PolicyArgs, attrs: &mut Vec<Attribute>) {
    let mut parts = Vec::new();
    let token = if args.refresh.is_some() {
        "a refresh token"
    } else {
        "an access token"
    };
    let locations = args
        .locations
        .as_ref()
        .map(|(_, names)| names.join(", "))
        .unwrap_or_else(|| DEFAULT_LOCATIONS.to_string());
    parts.push(format!("{token} in {locations}"));
    if args.optional.is_some() {
        parts.push("optional (a request without a token is served)".to_string());
    }
    if args.fresh.is_some() {
        parts.push("fresh token required".to_string());
    }
    if matches!(which, Macro::AdminRequired) {
        let claim = args
            .claim
            .as_ref()
            .map(LitStr::value)
            .unwrap_or_else(|| "is_administrator".to_string());
        parts.push(format!("administrators only (claim `{claim}`)"));
    }
    let role_names = |list: &RoleList| match list {
        RoleList::Names(names) => names.join(", "),
        RoleList::Typed(values) => values
            .iter()
            .map(|v| quote!(#v).to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    if let Some((_, list)) = &args.roles {
        parts.push(format!("roles: {} (any)", role_names(list)));
    }
    if let Some((_, list)) = &args.all_roles {
        parts.push(format!("roles: {} (all)", role_names(list)));
    }
    if let Some(claim) = &args.role_claim {
        parts.push(format!("role claim `{}`", claim.value()));
    }
    if let Some(policy) = &args.policy {
        parts.push(format!("policy `{}`", quote!(#policy)));
    }
    if let Some(scopes) = &args.scopes {
        let mode = if scopes.any { "any" } else { "all" };
        parts.push(format!("scopes: {} ({mode})", scopes.names.join(", ")));
    }
    if let Some((_, issuers)) = &args.issuers {
        parts.push(format!("issuers: {}", issuers.join(", ")));
    }
    if args.skip_revocation_check.is_some() {
        parts.push("no revocation check".to_string());
    }
    if args.verify_type.as_ref().is_some_and(|v| !v.value) {
        parts.push("any token type".to_string());
    }
    let text = format!(" JWT policy: {}.", parts.join("; "));
    if attrs.iter().any(|a| a.path().is_ident("doc")) {
        attrs.push(syn::parse_quote!(#[doc = ""]));
    }
    attrs.push(syn::parse_quote!(#[doc = #text]));
}

/// `-> R` becomes `-> OpenApiResponses<R, marker>`, the body an `async` block typed `R`.
fn wrap_return(method: &mut ImplItemFn, marker: &syn::Ident) {
    if method.sig.asyncness.is_none() {
        // poem-openapi refuses it with its own error.
        return;
    }
    let private = paths::private();
    let ret: syn::Type = match &method.sig.output {
        syn::ReturnType::Default => syn::parse_quote!(()),
        syn::ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let span = syn::spanned::Spanned::span(&ret);
    let wrapped = quote_spanned!(span=> #private::OpenApiResponses<#ret, #marker>);
    method.sig.output = syn::parse_quote!(-> #wrapped);
    let block = &method.block;
    method.block = syn::parse_quote!({
        #private::OpenApiResponses::new(
            #private::operation_body::<#ret, _>(async move #block).await
        )
    });
}

/// The scopes of `scopes = "..."` in the operation's security
/// requirement: poem-openapi lists the values of the hidden parameter's `#[oai(scope = "...")]`
/// attributes, each a path to a value implementing its `OAuthScopes`. Returns those attributes
/// and the constants they name (emitted beside the impl).
fn scope_requirement(
    args: &PolicyArgs,
    self_name: &str,
    method: &syn::Ident,
) -> (Vec<Attribute>, TokenStream) {
    // A requirement lists what is needed together: one of `any_scopes` cannot be said there
    // (poem-openapi writes one requirement per scheme), so those operations list none.
    let Some(scopes) = args.scopes.as_ref().filter(|s| !s.any) else {
        return (Vec::new(), TokenStream::new());
    };
    let private = paths::private();
    let mut paths = Vec::new();
    let mut consts = TokenStream::new();
    for (i, scope) in scopes.names.iter().enumerate() {
        let name = format_ident!("__JWT_OPENAPI_SCOPE_{}_{}_{}", self_name, method, i);
        paths.push(LitStr::new(&name.to_string(), Span::call_site()));
        consts.extend(quote! {
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            const #name: #private::OpenApiScope = #private::OpenApiScope(#scope);
        });
    }
    // One attribute: poem-openapi reads (and removes) the first `#[oai]` of a parameter only.
    (vec![syn::parse_quote!(#[oai(#(scope = #paths),*)])], consts)
}

/// Points the `#[oai(...)]` attribute's `transform` at `name`, and wraps its `actual_type = "T"`
/// (the type poem-openapi documents instead of the return type) as the return type is wrapped,
/// `OpenApiResponses<T, marker>`, so the document lists the refusals there too. Returns the
/// user's own transform.
fn set_transform(
    attr: &mut Attribute,
    name: &syn::Ident,
    marker: &syn::Ident,
    errors: &mut Errors,
) -> Option<syn::Ident> {
    let parsed = match &attr.meta {
        Meta::List(_) => attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated),
        _ => Ok(Punctuated::new()),
    };
    let mut metas = match parsed {
        Ok(m) => m,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let mut previous = None;
    let mut kept: Punctuated<Meta, Token![,]> = Punctuated::new();
    for meta in std::mem::take(&mut metas) {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("transform") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => match s.parse::<syn::Ident>() {
                    Ok(ident) => previous = Some(ident),
                    Err(e) => errors.push(e),
                },
                syn::Expr::Path(p) if p.path.get_ident().is_some() => {
                    previous = p.path.get_ident().cloned();
                }
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "`transform` names a function: `transform = \"name\"`",
                )),
            },
            Meta::NameValue(nv) if nv.path.is_ident("actual_type") => {
                kept.push(wrap_actual_type(nv, marker, errors));
            }
            _ => kept.push(meta),
        }
    }
    let value = LitStr::new(&name.to_string(), Span::call_site());
    kept.push(syn::parse_quote!(transform = #value));
    let path = attr.path().clone();
    *attr = syn::parse_quote!(#[#path(#kept)]);
    previous
}

/// `actual_type = "T"` as `actual_type = "<runtime>::__private::OpenApiResponses<T, marker>"`
/// (poem-openapi reads the documented responses and the content type from it). A value that is
/// not a string naming a type is kept for poem-openapi to refuse.
fn wrap_actual_type(nv: &syn::MetaNameValue, marker: &syn::Ident, errors: &mut Errors) -> Meta {
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(s),
        ..
    }) = &nv.value
    else {
        return Meta::NameValue(nv.clone());
    };
    let ty = match s.parse::<syn::Type>() {
        Ok(ty) => ty,
        Err(e) => {
            errors.push(e);
            return Meta::NameValue(nv.clone());
        }
    };
    let private = paths::private();
    let wrapped = quote!(#private::OpenApiResponses<#ty, #marker>).to_string();
    let value = LitStr::new(&wrapped, s.span());
    let path = &nv.path;
    syn::parse_quote!(#path = #value)
}

/// The function poem-openapi calls on the operation's endpoint: the pipeline around it.
fn transform_fn(
    which: Macro,
    args: &PolicyArgs,
    users: &[syn::Type],
    name: &syn::Ident,
    previous: Option<syn::Ident>,
) -> TokenStream {
    let private = paths::private();
    let poem = paths::poem();
    let options = protect::options_expr(args);
    let policy = protect::policy_ref(which, args);
    let loaders = protect::user_loaders(users);
    let inner = match previous {
        Some(user) => quote!(#poem::EndpointExt::map_to_response(#user(ep))),
        None => quote!(ep),
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case)]
        fn #name<E: #poem::Endpoint + 'static>(ep: E) -> impl #poem::Endpoint<Output = #poem::Response> {
            struct __JwtOperation<E>(E);

            #[automatically_derived]
            impl<E: #poem::Endpoint> #poem::Endpoint for __JwtOperation<E> {
                type Output = #poem::Response;

                async fn call(&self, req: #poem::Request) -> #poem::Result<#poem::Response> {
                    const __JWT_OPTIONS: #private::VerifyOptions = #options;
                    const __JWT_USERS: &[#private::UserLoaderFn] = &[#(#loaders),*];
                    #private::call_protected(&__JWT_OPTIONS, #policy, __JWT_USERS, &self.0, req).await
                }
            }

            __JwtOperation(#inner)
        }
    }
}

/// `#[jwt_public]` expanded by the compiler: no `#[jwt_runtime::openapi]` consumed it, so it is
/// not on an operation of such an impl (or is under another name). The item is kept unchanged.
pub(crate) fn misplaced_public_marker(_args: TokenStream, item: TokenStream) -> TokenStream {
    let err = syn::Error::new(
        Span::call_site(),
        "`#[jwt_public]` opts an `#[oai]` operation out of the protection of its impl, \
         `#[jwt_runtime::openapi(jwt_required(...))]` above `#[OpenApi]`: no such attribute \
         read it here (it finds `#[jwt_public]` by that name); elsewhere a route is public \
         unless a protection covers it",
    )
    .into_compile_error();
    quote!(#err #item)
}
