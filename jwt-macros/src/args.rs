//! Parsing and validating the arguments of `#[jwt_required(...)]` and `#[admin_required(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Expr, LitBool, LitStr};

use crate::suggest::closest;

/// The token locations, by the reference's names, in the order of its messages.
pub(crate) const LOCATIONS: &[&str] = &["headers", "cookies", "query_string", "json"];

/// A validated argument list.
#[derive(Default, Clone)]
pub(crate) struct PolicyArgs {
    pub optional: Option<Span>,
    pub fresh: Option<Span>,
    pub refresh: Option<Span>,
    pub skip_revocation_check: Option<Span>,
    pub verify_type: Option<LitBool>,
    pub locations: Option<(LitStr, Vec<String>)>,
    pub policy: Option<Expr>,
    /// `#[admin_required(claim = "...")]` only.
    pub claim: Option<LitStr>,
    /// `roles = ...`: any of them.
    pub roles: Option<(Span, RoleList)>,
    /// `all_roles = ...`: all of them.
    pub all_roles: Option<(Span, RoleList)>,
    /// `role_claim = "..."`: the claim `roles`/`all_roles` read.
    pub role_claim: Option<LitStr>,
    /// `issuer = "..."`: the issuers whose tokens the route accepts ([`parse_issuers`]).
    pub issuers: Option<(LitStr, Vec<String>)>,
    /// `scopes = "..."` (all of them) / `any_scopes = "..."` (one of them): OAuth scopes.
    pub scopes: Option<ScopeArg>,
    /// `dpop` / `dpop = "allowed" | "required" | "disabled"`: the route's DPoP policy.
    pub dpop: Option<(Span, DpopArg)>,
}

/// A checked `dpop` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DpopArg {
    Disabled,
    Allowed,
    Required,
}

impl DpopArg {
    /// The `jwt_runtime::DpopMode` variant.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            DpopArg::Disabled => "Disabled",
            DpopArg::Allowed => "Allowed",
            DpopArg::Required => "Required",
        }
    }
}

/// `dpop` (a flag: required) or `dpop = "allowed" | "required" | "disabled"`.
fn parse_dpop(meta: &ParseNestedMeta) -> syn::Result<DpopArg> {
    if !meta.input.peek(syn::Token![=]) {
        if meta.input.peek(syn::token::Paren) {
            return Err(meta.error(
                "write `dpop` (DPoP required) or `dpop = \"allowed\"`, `\"required\"` or `\"disabled\"`",
            ));
        }
        return Ok(DpopArg::Required);
    }
    let lit: LitStr = meta.value()?.parse()?;
    match lit.value().as_str() {
        "disabled" => Ok(DpopArg::Disabled),
        "allowed" => Ok(DpopArg::Allowed),
        "required" => Ok(DpopArg::Required),
        other => {
            const MODES: &[&str] = &["allowed", "required", "disabled"];
            let hint = closest(other, MODES)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            Err(syn::Error::new(
                lit.span(),
                format!(
                    "unknown DPoP policy `{other}`; expected `allowed`, `required` or `disabled`{hint}"
                ),
            ))
        }
    }
}

/// A checked `scopes = "a b"` or `any_scopes = "a b"`.
#[derive(Clone)]
pub(crate) struct ScopeArg {
    /// The argument's name, where combination errors point.
    pub span: Span,
    /// `any_scopes`.
    pub any: bool,
    /// The names, in the order written.
    pub names: Vec<String>,
}

/// The names of `roles = ...` / `all_roles = ...`.
#[derive(Clone)]
pub(crate) enum RoleList {
    /// `"admin, editor"`: checked here (not empty, no repeats).
    Names(Vec<String>),
    /// `[Role::Admin, Role::Editor]`: values whose type is `AsRef<str>`, checked by the compiler.
    Typed(Vec<Expr>),
}

/// Which arguments a macro accepts.
pub(crate) struct Grammar {
    pub macro_name: &'static str,
    pub keys: &'static [&'static str],
    /// Arguments of the other policy macro that make no sense here, with the reason: no "did you
    /// mean" for them (`refresh` is not a typo of `fresh`).
    pub refused: &'static [(&'static str, &'static str)],
}

fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta,
    name: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("duplicate `{name}` argument")));
    }
    *slot = Some(value);
    Ok(())
}

fn flag(meta: &ParseNestedMeta, name: &str) -> syn::Result<Span> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!(
            "`{name}` is a flag: write `{name}` without a value"
        )));
    }
    Ok(meta.path.segments[0].ident.span())
}

fn parse_locations(lit: &LitStr) -> syn::Result<Vec<String>> {
    let text = lit.value();
    let mut names: Vec<String> = Vec::new();
    for raw in text.split(',') {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if !LOCATIONS.contains(&name) {
            let hint = closest(name, LOCATIONS)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "unknown token location `{name}`; expected `headers`, `cookies`, `query_string` or `json`{hint}"
                ),
            ));
        }
        if names.iter().any(|n| n == name) {
            return Err(syn::Error::new(
                lit.span(),
                format!("token location `{name}` is listed twice"),
            ));
        }
        names.push(name.to_string());
    }
    if names.is_empty() {
        return Err(syn::Error::new(lit.span(), "`locations` cannot be empty"));
    }
    Ok(names)
}

fn parse_roles(meta: &ParseNestedMeta, name: &str) -> syn::Result<RoleList> {
    let value = meta.value()?;
    if value.peek(syn::token::Bracket) {
        let array: syn::ExprArray = value.parse()?;
        if array.elems.is_empty() {
            return Err(syn::Error::new_spanned(
                &array,
                format!("`{name}` cannot be empty"),
            ));
        }
        let mut seen: Vec<String> = Vec::new();
        for elem in &array.elems {
            if let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = elem
            {
                return Err(syn::Error::new(
                    s.span(),
                    format!(
                        "`{name} = [..]` takes typed role values; for names write one string: `{name} = \"{}\"`",
                        array
                            .elems
                            .iter()
                            .filter_map(|e| match e {
                                Expr::Lit(syn::ExprLit {
                                    lit: syn::Lit::Str(s),
                                    ..
                                }) => Some(s.value()),
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let text = quote::ToTokens::to_token_stream(elem).to_string();
            if seen.contains(&text) {
                return Err(syn::Error::new_spanned(
                    elem,
                    format!("role `{}` is listed twice", text.replace(' ', "")),
                ));
            }
            seen.push(text);
        }
        return Ok(RoleList::Typed(array.elems.into_iter().collect()));
    }
    let lit: LitStr = value.parse()?;
    let mut names: Vec<String> = Vec::new();
    for raw in lit.value().split(',') {
        let role = raw.trim();
        if role.is_empty() {
            continue;
        }
        if role.contains(char::is_whitespace) {
            return Err(spaced_role(&lit, name, role));
        }
        if names.iter().any(|n| n == role) {
            return Err(syn::Error::new(
                lit.span(),
                format!("role `{role}` is listed twice"),
            ));
        }
        names.push(role.to_string());
    }
    if names.is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{name}` cannot be empty: name at least one role, comma-separated"),
        ));
    }
    Ok(RoleList::Names(names))
}

/// `roles = "admin editor"`: a space where a comma was meant (no role name holds whitespace).
/// The error suggests the list with every space-separated word as a name of its own.
fn spaced_role(lit: &LitStr, name: &str, role: &str) -> syn::Error {
    let text = lit.value();
    let words: Vec<&str> = text.split(',').flat_map(str::split_whitespace).collect();
    let suggestion = words.join(", ");
    syn::Error::new(
        lit.span(),
        format!(
            "a role name holds no whitespace (`{role}`): separate the names with a comma: \
             `{name} = \"{suggestion}\"`"
        ),
    )
}

/// `[..]` written where one string is expected: an error on the array whose `message` shows the
/// string to write instead, its items (string literals by their value) joined by `separator`.
fn refuse_array(
    value: syn::parse::ParseStream,
    separator: &str,
    message: impl FnOnce(String) -> String,
) -> syn::Result<syn::Error> {
    let array: syn::ExprArray = value.parse()?;
    let items: Vec<String> = array
        .elems
        .iter()
        .map(|e| match e {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => s.value(),
            other => quote::ToTokens::to_token_stream(other).to_string(),
        })
        .collect();
    Ok(syn::Error::new_spanned(
        &array,
        message(items.join(separator)),
    ))
}

// ---- `issuer = "..."` ----

/// `issuer = "https://a, https://b"`: one issuer or a comma-separated list, each compared
/// exactly with a token's `iss`. Refused here: an empty list, an issuer holding whitespace (a
/// missing comma, or a stray space an exact comparison would never match), a repeat.
fn parse_issuers(meta: &ParseNestedMeta) -> syn::Result<(LitStr, Vec<String>)> {
    let value = meta.value()?;
    if value.peek(syn::token::Bracket) {
        return Err(refuse_array(value, ", ", |items| {
            format!("`issuer` takes one string: write `issuer = \"{items}\"`")
        })?);
    }
    let lit: LitStr = value.parse()?;
    let text = lit.value();
    let mut issuers: Vec<String> = Vec::new();
    for raw in text.split(',') {
        let issuer = raw.trim();
        if issuer.is_empty() {
            continue;
        }
        if issuer.contains(char::is_whitespace) {
            let words: Vec<&str> = text.split(',').flat_map(str::split_whitespace).collect();
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "an issuer holds no whitespace (`{issuer}`): separate the issuers with a \
                     comma: `issuer = \"{}\"`",
                    words.join(", ")
                ),
            ));
        }
        if issuers.iter().any(|i| i == issuer) {
            return Err(syn::Error::new(
                lit.span(),
                format!("issuer `{issuer}` is listed twice: name it once"),
            ));
        }
        issuers.push(issuer.to_string());
    }
    if issuers.is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            "`issuer` cannot be empty: name the issuer whose tokens the route accepts \
             (`issuer = \"https://auth.example.com\"`), or several, comma-separated",
        ));
    }
    Ok((lit, issuers))
}

// ---- end of `issuer` ----

fn parse_one(args: &mut PolicyArgs, meta: ParseNestedMeta, grammar: &Grammar) -> syn::Result<()> {
    let name = meta
        .path
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_default();
    if let Some((_, why)) = grammar.refused.iter().find(|(key, _)| *key == name) {
        return Err(meta.error(format!(
            "`{name}` is not an argument of `#[{}]`: {why}",
            grammar.macro_name
        )));
    }
    if !grammar.keys.contains(&name.as_str()) {
        let shown = if name.is_empty() {
            "this".to_string()
        } else {
            format!("`{name}`")
        };
        let expected: Vec<String> = grammar.keys.iter().map(|k| format!("`{k}`")).collect();
        let hint = closest(&name, grammar.keys)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        return Err(meta.error(format!(
            "unknown `{}` argument {shown}; expected one of {}{hint}",
            grammar.macro_name,
            expected.join(", ")
        )));
    }
    match name.as_str() {
        "optional" => set_once(&mut args.optional, flag(&meta, &name)?, &meta, &name),
        "fresh" => set_once(&mut args.fresh, flag(&meta, &name)?, &meta, &name),
        "refresh" => set_once(&mut args.refresh, flag(&meta, &name)?, &meta, &name),
        "skip_revocation_check" => set_once(
            &mut args.skip_revocation_check,
            flag(&meta, &name)?,
            &meta,
            &name,
        ),
        "verify_type" => {
            let value: LitBool = meta.value()?.parse()?;
            set_once(&mut args.verify_type, value, &meta, &name)
        }
        "locations" => {
            let value = meta.value()?;
            if value.peek(syn::token::Bracket) {
                return Err(refuse_array(value, ", ", |items| {
                    format!("`locations` takes one string: write `locations = \"{items}\"`")
                })?);
            }
            let lit: LitStr = value.parse()?;
            let names = parse_locations(&lit)?;
            set_once(&mut args.locations, (lit, names), &meta, &name)
        }
        "policy" => {
            let expr: Expr = meta.value()?.parse()?;
            set_once(&mut args.policy, expr, &meta, &name)
        }
        "claim" => {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(lit.span(), "`claim` cannot be empty"));
            }
            set_once(&mut args.claim, lit, &meta, &name)
        }
        "roles" => {
            let span = meta.path.segments[0].ident.span();
            let list = parse_roles(&meta, &name)?;
            set_once(&mut args.roles, (span, list), &meta, &name)
        }
        "all_roles" => {
            let span = meta.path.segments[0].ident.span();
            let list = parse_roles(&meta, &name)?;
            set_once(&mut args.all_roles, (span, list), &meta, &name)
        }
        "role_claim" => {
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(lit.span(), "`role_claim` cannot be empty"));
            }
            set_once(&mut args.role_claim, lit, &meta, &name)
        }
        "issuer" => {
            let issuers = parse_issuers(&meta)?;
            set_once(&mut args.issuers, issuers, &meta, &name)
        }
        "dpop" => {
            let span = meta.path.segments[0].ident.span();
            let mode = parse_dpop(&meta)?;
            set_once(&mut args.dpop, (span, mode), &meta, &name)
        }
        "scopes" | "any_scopes" => {
            let arg = parse_scopes(&meta, &name)?;
            if let Some(first) = &args.scopes {
                let first_name = if first.any { "any_scopes" } else { "scopes" };
                if first_name != name {
                    return Err(syn::Error::new(
                        arg.span,
                        format!(
                            "`{name}` cannot be combined with `{first_name}`: a route has one \
                             scope requirement, all of `scopes` or one of `any_scopes`"
                        ),
                    ));
                }
            }
            set_once(&mut args.scopes, arg, &meta, &name)
        }
        _ => Err(meta.error("unsupported argument")),
    }
}

/// Whether `c` may appear in an OAuth scope name (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// `scopes = "a b"` / `any_scopes = "a b"`: one string of space-separated scope names, as OAuth
/// writes them; not empty, no repeats, no commas (a comma-separated list is refused with the
/// space-separated one to write).
fn parse_scopes(meta: &ParseNestedMeta, name: &str) -> syn::Result<ScopeArg> {
    let span = meta.path.segments[0].ident.span();
    let value = meta.value()?;
    if value.peek(syn::token::Bracket) {
        return Err(refuse_array(value, " ", |items| {
            format!(
                "`{name}` takes one string of space-separated scope names, as OAuth writes \
                 them: `{name} = \"{items}\"`"
            )
        })?);
    }
    let lit: LitStr = value.parse()?;
    let text = lit.value();
    if text.contains(',') {
        let suggestion: Vec<&str> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|n| !n.is_empty())
            .collect();
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "scope names are separated by spaces, not commas, as OAuth writes them: \
                 `{name} = \"{}\"`",
                suggestion.join(" ")
            ),
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for scope in text.split_whitespace() {
        if let Some(bad) = scope.chars().find(|c| !is_scope_char(*c)) {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "`{scope}` is not an OAuth scope name: {bad:?} is not allowed (RFC 6749 \
                     section 3.3: printable ASCII except space, `\"` and `\\`)"
                ),
            ));
        }
        if names.iter().any(|n| n == scope) {
            return Err(syn::Error::new(
                lit.span(),
                format!("scope `{scope}` is listed twice"),
            ));
        }
        names.push(scope.to_string());
    }
    if names.is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{name}` cannot be empty: name at least one scope, space-separated"),
        ));
    }
    Ok(ScopeArg {
        span,
        any: name == "any_scopes",
        names,
    })
}

/// Cross-argument rules of `scopes` / `any_scopes`.
fn validate_scopes(args: &PolicyArgs) -> syn::Result<()> {
    let Some(scopes) = &args.scopes else {
        return Ok(());
    };
    let name = if scopes.any { "any_scopes" } else { "scopes" };
    if args.refresh.is_some() {
        return Err(syn::Error::new(
            scopes.span,
            format!(
                "`{name}` cannot be combined with `refresh`: scopes are checked on access \
                 tokens, and a refresh route only mints them"
            ),
        ));
    }
    if args.optional.is_some() {
        return Err(syn::Error::new(
            scopes.span,
            format!(
                "`{name}` cannot be combined with `optional`: an anonymous request holds no \
                 scope, so the check could never run"
            ),
        ));
    }
    Ok(())
}

/// Cross-argument rules: contradictory policies are refused.
fn validate(args: &PolicyArgs) -> syn::Result<()> {
    if let (Some(fresh), Some(_)) = (args.fresh, args.refresh) {
        return Err(syn::Error::new(
            fresh,
            "`fresh` cannot be combined with `refresh`: a refresh token is never fresh",
        ));
    }
    let roles = [("roles", &args.roles), ("all_roles", &args.all_roles)];
    let mut present = roles
        .iter()
        .filter_map(|(name, slot)| slot.as_ref().map(|(span, _)| (*name, *span)));
    let first = present.next();
    if let Some((second, span)) = present.next() {
        return Err(syn::Error::new(
            span,
            format!(
                "`{second}` cannot be combined with `roles`: a route has one role check; for \
                 both, write a `policy = ...` that runs two `jwt_runtime::Roles`"
            ),
        ));
    }
    if let Some((name, span)) = first {
        if args.policy.is_some() {
            return Err(syn::Error::new(
                span,
                format!(
                    "`{name}` cannot be combined with `policy`: a route has one policy; check \
                     the roles inside it with `jwt_runtime::Roles` (it is a `JwtPolicy`)"
                ),
            ));
        }
        if args.refresh.is_some() {
            return Err(syn::Error::new(
                span,
                format!(
                    "`{name}` cannot be combined with `refresh`: roles are checked on access \
                     tokens, and a refresh route only mints them"
                ),
            ));
        }
        if args.optional.is_some() {
            return Err(syn::Error::new(
                span,
                format!(
                    "`{name}` cannot be combined with `optional`: an anonymous request holds no \
                     role, so the check could never run"
                ),
            ));
        }
    } else if let Some(claim) = &args.role_claim {
        return Err(syn::Error::new(
            claim.span(),
            "`role_claim` names the claim that `roles` or `all_roles` read: add one of them",
        ));
    }
    Ok(())
}

/// Every cross-argument rule, for arguments combined from two attributes (`narrow`).
pub(crate) fn validate_all(args: &PolicyArgs) -> syn::Result<()> {
    validate(args)?;
    validate_scopes(args)
}

/// Parses `args` under `grammar`; errors point at the offending token.
pub(crate) fn parse(args: TokenStream, grammar: &Grammar) -> syn::Result<PolicyArgs> {
    parse_with(args, grammar, |_| None)
}

/// [`parse`], offering each argument to `other` first: it parses the arguments it answers
/// `Some` for itself (`#[jwt_runtime::openapi(jwt_required(...))]`'s nested protection).
pub(crate) fn parse_with(
    args: TokenStream,
    grammar: &Grammar,
    mut other: impl FnMut(&ParseNestedMeta) -> Option<syn::Result<()>>,
) -> syn::Result<PolicyArgs> {
    let mut parsed = PolicyArgs::default();
    syn::meta::parser(|meta| match other(&meta) {
        Some(result) => result,
        None => parse_one(&mut parsed, meta, grammar),
    })
    .parse2(args)?;
    validate(&parsed)?;
    validate_scopes(&parsed)?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    const G: Grammar = crate::protect::JWT_REQUIRED;
    const ADMIN: Grammar = crate::protect::ADMIN_REQUIRED;

    fn err(tokens: TokenStream) -> String {
        parse(tokens, &G)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn accepts_every_argument() {
        let a = parse(
            quote!(
                optional,
                locations = "headers, query_string",
                verify_type = false,
                skip_revocation_check
            ),
            &G,
        )
        .unwrap();
        assert!(a.optional.is_some() && a.skip_revocation_check.is_some());
        assert_eq!(a.locations.unwrap().1, ["headers", "query_string"]);
        assert!(!a.verify_type.unwrap().value);
    }

    #[test]
    fn refuses_typos_duplicates_and_contradictions() {
        assert!(err(quote!(frsh)).contains("did you mean `fresh`?"));
        assert_eq!(err(quote!(fresh, fresh)), "duplicate `fresh` argument");
        assert!(err(quote!(fresh, refresh)).starts_with("`fresh` cannot be combined"));
        assert!(err(quote!(locations = "header")).contains("did you mean `headers`?"));
        assert_eq!(err(quote!(locations = "")), "`locations` cannot be empty");
        assert_eq!(
            err(quote!(fresh = true)),
            "`fresh` is a flag: write `fresh` without a value"
        );
        assert_eq!(
            err(quote!(locations = ["headers", "cookies"])),
            "`locations` takes one string: write `locations = \"headers, cookies\"`"
        );
    }

    #[test]
    fn roles_are_checked_here() {
        let a = parse(quote!(roles = " admin ,editor,", role_claim = "groups"), &G).unwrap();
        match a.roles {
            Some((_, RoleList::Names(names))) => assert_eq!(names, ["admin", "editor"]),
            _ => panic!("names expected"),
        }
        let typed = parse(quote!(all_roles = [Role::Admin, Role::Editor]), &G).unwrap();
        assert!(matches!(typed.all_roles, Some((_, RoleList::Typed(v))) if v.len() == 2));
        assert_eq!(
            err(quote!(roles = [Role::Admin, Role::Admin])),
            "role `Role::Admin` is listed twice"
        );
        assert_eq!(
            err(quote!(roles = ["admin", "editor"])),
            "`roles = [..]` takes typed role values; for names write one string: `roles = \"admin, editor\"`"
        );
        assert_eq!(err(quote!(all_roles = [])), "`all_roles` cannot be empty");
        assert!(err(quote!(rolse = "a")).contains("did you mean `roles`?"));
        assert!(err(quote!(roles = "a", roles = "b")).starts_with("duplicate `roles`"));
        assert!(err(quote!(role_claim = "")).starts_with("`role_claim` cannot be empty"));
        assert_eq!(
            err(quote!(roles = "admin editor")),
            "a role name holds no whitespace (`admin editor`): separate the names with a comma: \
             `roles = \"admin, editor\"`"
        );
        assert_eq!(
            err(quote!(all_roles = "admin,  super\tuser, editor")),
            "a role name holds no whitespace (`super\tuser`): separate the names with a comma: \
             `all_roles = \"admin, super, user, editor\"`"
        );
    }

    #[test]
    fn issuers_are_checked_here() {
        let a = parse(
            quote!(issuer = " https://a.example ,https://b.example,"),
            &G,
        )
        .unwrap();
        assert_eq!(
            a.issuers.unwrap().1,
            ["https://a.example", "https://b.example"]
        );
        assert!(err(quote!(issuer = "")).starts_with("`issuer` cannot be empty"));
        assert!(err(quote!(issuer = " , ")).starts_with("`issuer` cannot be empty"));
        assert_eq!(
            err(quote!(issuer = "https://a.example https://b.example")),
            "an issuer holds no whitespace (`https://a.example https://b.example`): separate the \
             issuers with a comma: `issuer = \"https://a.example, https://b.example\"`"
        );
        assert_eq!(
            err(quote!(issuer = "https://a.example, https://a.example")),
            "issuer `https://a.example` is listed twice: name it once"
        );
        assert_eq!(
            err(quote!(issuer = ["https://a.example"])),
            "`issuer` takes one string: write `issuer = \"https://a.example\"`"
        );
        assert!(err(quote!(issuer = "x", issuer = "y")).starts_with("duplicate `issuer`"));
        assert!(err(quote!(isuer = "x")).contains("did you mean `issuer`?"));
    }

    #[test]
    fn scopes_are_checked_here() {
        let a = parse(
            quote!(scopes = " notes:read  notes:write ", roles = "editor"),
            &G,
        )
        .unwrap();
        let scopes = a.scopes.unwrap();
        assert!(!scopes.any);
        assert_eq!(scopes.names, ["notes:read", "notes:write"]);
        assert!(
            parse(quote!(any_scopes = "a"), &G)
                .unwrap()
                .scopes
                .unwrap()
                .any
        );
        assert_eq!(
            err(quote!(scopes = "notes:read, notes:write")),
            "scope names are separated by spaces, not commas, as OAuth writes them: \
             `scopes = \"notes:read notes:write\"`"
        );
        assert_eq!(
            err(quote!(any_scopes = ["a", "b"])),
            "`any_scopes` takes one string of space-separated scope names, as OAuth writes \
             them: `any_scopes = \"a b\"`"
        );
        assert_eq!(
            err(quote!(scopes = " ")),
            "`scopes` cannot be empty: name at least one scope, space-separated"
        );
        assert_eq!(err(quote!(scopes = "a b a")), "scope `a` is listed twice");
        assert!(
            err(quote!(scopes = "caf\u{e9}")).starts_with("`caf\u{e9}` is not an OAuth scope name")
        );
        assert!(err(quote!(scopes = "a\"b")).contains("'\"' is not allowed"));
        assert!(err(quote!(scopes = "a", scopes = "b")).starts_with("duplicate `scopes`"));
        assert!(err(quote!(scopes = "a", any_scopes = "b"))
            .starts_with("`any_scopes` cannot be combined with `scopes`"));
        assert!(err(quote!(refresh, scopes = "a"))
            .starts_with("`scopes` cannot be combined with `refresh`"));
        assert!(err(quote!(any_scopes = "a", optional))
            .starts_with("`any_scopes` cannot be combined with `optional`"));
        assert!(err(quote!(scope = "a")).contains("did you mean `scopes`?"));
    }

    #[test]
    fn dpop_is_a_flag_or_one_of_three_policies() {
        let dpop = |tokens| parse(tokens, &G).unwrap().dpop.map(|(_, mode)| mode);
        assert_eq!(dpop(quote!(dpop)), Some(DpopArg::Required));
        assert_eq!(dpop(quote!(dpop = "allowed")), Some(DpopArg::Allowed));
        assert_eq!(dpop(quote!(dpop = "required")), Some(DpopArg::Required));
        assert_eq!(dpop(quote!(dpop = "disabled")), Some(DpopArg::Disabled));
        assert_eq!(dpop(quote!(fresh)), None);
        assert_eq!(
            err(quote!(dpop = "alowed")),
            "unknown DPoP policy `alowed`; expected `allowed`, `required` or `disabled`; did you mean `allowed`?"
        );
        assert_eq!(
            err(quote!(dpop, dpop = "allowed")),
            "duplicate `dpop` argument"
        );
        assert!(parse(quote!(dpop = "allowed", claim = "admin"), &ADMIN).is_ok());
    }

    #[test]
    fn admin_required_refuses_refresh_without_suggesting_fresh() {
        let e = parse(quote!(refresh), &ADMIN).err().unwrap().to_string();
        assert!(
            e.starts_with("`refresh` is not an argument of `#[admin_required]`"),
            "{e}"
        );
        assert!(!e.contains("did you mean"), "{e}");
    }
}
