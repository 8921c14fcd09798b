//! An operation's own `#[jwt_required(...)]` / `#[admin_required(...)]` under an impl protected
//! by `#[jwt_runtime::openapi(jwt_required(...))]` **narrows** the impl's protection: the route
//! checks both. [`narrow`] combines the two argument lists into the one policy the operation
//! runs and documents, argument by argument:
//!
//! - flags: `fresh`, `refresh`, `skip_revocation_check` hold if either side has them (a
//!   contradiction the result then has, `fresh` with `refresh`, roles or scopes with `refresh`,
//!   is refused as on one attribute, naming the impl's protection);
//! - `verify_type`, `locations`: the operation's, else the impl's;
//! - roles (`roles`, `all_roles`): both must hold. Two lists of names combine when one
//!   requirement implies the other (`roles` of one name is `all_roles` of it; all-of lists
//!   unite; of two any-of lists the one contained in the other is kept; an any-of list sharing a
//!   name with an all-of list is implied by it). Otherwise, and for typed role lists or two
//!   different `role_claim`s, a compile error;
//! - scopes: the same rules (`scopes` unite, `any_scopes` as any-of roles);
//! - `issuer`: the issuers both accept (none in common is a compile error);
//! - `dpop`: the stricter (`required` over `allowed`, `disabled` over `allowed`; `required` with
//!   `disabled` is a compile error);
//! - `policy`, `#[admin_required]` and its `claim`: one policy per route; the same on both sides
//!   is kept, anything else is a compile error.
//!
//! Every error points at the operation's token (or its attribute) and names the impl's
//! argument. `#[jwt_required(optional)]` is not narrowing but the opt-out, handled by the
//! caller.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Attribute, LitStr};

use crate::args::{self, DpopArg, PolicyArgs, RoleList, ScopeArg};
use crate::protect::Macro;

/// One side of the combination: the macro, its arguments and how they were written.
pub(crate) struct Protection<'a> {
    pub which: Macro,
    pub args: &'a PolicyArgs,
    /// `jwt_required(roles = "staff")`, as the messages show it.
    pub written: &'a str,
}

/// The policy an operation with `op` runs under an impl protected by `imp`; `at` is the span
/// of the operation's attribute, where errors without a token of their own point.
pub(crate) fn narrow(
    imp: &Protection,
    op: &Protection,
    at: &Attribute,
) -> Result<(Macro, PolicyArgs), syn::Error> {
    let mut errors: Vec<syn::Error> = Vec::new();
    let mut fail = |e: syn::Error| errors.push(e);
    let (i, o) = (imp.args, op.args);
    let mut out = PolicyArgs {
        optional: None,
        fresh: o.fresh.or(i.fresh),
        refresh: o.refresh.or(i.refresh),
        skip_revocation_check: o.skip_revocation_check.or(i.skip_revocation_check),
        verify_type: o.verify_type.clone().or_else(|| i.verify_type.clone()),
        locations: o.locations.clone().or_else(|| i.locations.clone()),
        ..PolicyArgs::default()
    };
    let which = match (imp.which, op.which) {
        (Macro::JwtRequired, Macro::JwtRequired) => Macro::JwtRequired,
        _ => Macro::AdminRequired,
    };
    match one_policy(imp, op, at) {
        Ok(policy) => {
            out.policy = policy.policy;
            out.claim = policy.claim;
        }
        Err(e) => fail(e),
    }
    match roles(i, o, imp.written, at) {
        Ok((roles, all_roles, claim)) => {
            out.roles = roles;
            out.all_roles = all_roles;
            out.role_claim = claim;
        }
        Err(e) => fail(e),
    }
    match scopes(i.scopes.as_ref(), o.scopes.as_ref(), imp.written) {
        Ok(s) => out.scopes = s,
        Err(e) => fail(e),
    }
    match issuers(i.issuers.as_ref(), o.issuers.as_ref(), imp.written) {
        Ok(s) => out.issuers = s,
        Err(e) => fail(e),
    }
    match dpop(i.dpop, o.dpop, imp.written) {
        Ok(d) => out.dpop = d,
        Err(e) => fail(e),
    }
    // Checked only when the arguments combined: `one_policy` reported two policies already.
    if let (true, Err(e)) = (errors.is_empty(), args::validate_all(&out)) {
        return Err(syn::Error::new_spanned(
            at,
            format!(
                "this operation's attribute narrows the impl's `{}`, and together they \
                 contradict each other: {e}. Put this operation in an impl whose protection it \
                 can narrow (or write `#[jwt_public]` / `#[jwt_required(optional)]` to opt it \
                 out)",
                imp.written
            ),
        ));
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        Some(mut first) => {
            for e in errors {
                first.combine(e);
            }
            Err(first)
        }
        None => Ok((which, out)),
    }
}

/// Where an error points: a token, or the tokens of an attribute or expression.
enum Place {
    Span(Span),
    Tokens(proc_macro2::TokenStream),
}

impl Place {
    fn error(self, msg: String) -> syn::Error {
        match self {
            Place::Span(span) => syn::Error::new(span, msg),
            Place::Tokens(tokens) => syn::Error::new_spanned(tokens, msg),
        }
    }
}

/// The route's one policy (`policy = ...` or `#[admin_required]`'s `claim`).
struct OnePolicy {
    policy: Option<syn::Expr>,
    claim: Option<LitStr>,
}

fn one_policy(imp: &Protection, op: &Protection, at: &Attribute) -> Result<OnePolicy, syn::Error> {
    let (i, o) = (imp.args, op.args);
    let refuse = |place: Place, ours: &str, theirs: &str, how: &str| {
        place.error(format!(
            "{ours} here and the impl's {theirs} (`{}`) are two policies, and a route runs \
             one (the impl's is not dropped): {how}",
            imp.written
        ))
    };
    let at_attr = || Place::Tokens(at.to_token_stream());
    let own = "put this operation in an impl of its own, where one `policy = ...` (a \
               `jwt_runtime::JwtPolicy` that calls `jwt_runtime::Roles` or \
               `jwt_runtime::AdminRequired`) can check both";
    // The policy-like argument of one side: `policy`, `roles` or `all_roles`.
    let policy_of = |args: &PolicyArgs| -> Option<(&'static str, Place)> {
        if let Some(p) = &args.policy {
            Some(("`policy`", Place::Tokens(p.to_token_stream())))
        } else if let Some((span, _)) = &args.roles {
            Some(("`roles`", Place::Span(*span)))
        } else {
            args.all_roles
                .as_ref()
                .map(|(span, _)| ("`all_roles`", Place::Span(*span)))
        }
    };
    let text = |e: &Option<syn::Expr>| e.as_ref().map(|e| e.to_token_stream().to_string());
    match (imp.which, op.which) {
        (Macro::AdminRequired, Macro::AdminRequired) => {
            let value = |c: &Option<LitStr>| c.as_ref().map(LitStr::value);
            if value(&i.claim) != value(&o.claim) {
                let err = match &o.claim {
                    Some(c) => Place::Span(c.span()),
                    None => at_attr(),
                };
                return Err(refuse(
                    err,
                    "this administrator claim",
                    "administrator claim",
                    "write the impl's `claim` here too, or put this operation in an impl of its own",
                ));
            }
            Ok(OnePolicy {
                policy: None,
                claim: i.claim.clone(),
            })
        }
        (Macro::AdminRequired, Macro::JwtRequired) => match policy_of(o) {
            Some((what, err)) => Err(refuse(err, what, "`admin_required`", own)),
            None => Ok(OnePolicy {
                policy: None,
                claim: i.claim.clone(),
            }),
        },
        (Macro::JwtRequired, Macro::AdminRequired) => match policy_of(i) {
            Some((what, _)) => Err(refuse(at_attr(), "`#[admin_required]`", what, own)),
            None => Ok(OnePolicy {
                policy: None,
                claim: o.claim.clone(),
            }),
        },
        (Macro::JwtRequired, Macro::JwtRequired) => {
            let (Some((theirs, _)), Some((ours, err))) = (policy_of(i), policy_of(o)) else {
                return Ok(OnePolicy {
                    policy: o.policy.clone().or_else(|| i.policy.clone()),
                    claim: None,
                });
            };
            // Two role checks are combined by `roles`; the same policy twice is one.
            let roles = |args: &PolicyArgs| args.policy.is_none();
            if roles(i) && roles(o) || (i.policy.is_some() && text(&i.policy) == text(&o.policy)) {
                return Ok(OnePolicy {
                    policy: i.policy.clone(),
                    claim: None,
                });
            }
            Err(refuse(err, ours, theirs, own))
        }
    }
}

/// A role or scope requirement over names: `all` of them or any one.
#[derive(Clone)]
struct Names {
    all: bool,
    names: Vec<String>,
}

impl Names {
    /// Any one of a single name is that name, all of it.
    fn normalized(all: bool, names: &[String]) -> Self {
        Names {
            all: all || names.len() == 1,
            names: names.to_vec(),
        }
    }

    fn contains_all(&self, other: &Names) -> bool {
        other.names.iter().all(|n| self.names.contains(n))
    }

    fn shares(&self, other: &Names) -> bool {
        other.names.iter().any(|n| self.names.contains(n))
    }
}

/// Both requirements at once, when one requirement says it; `None` otherwise.
fn both(a: &Names, b: &Names) -> Option<Names> {
    match (a.all, b.all) {
        (true, true) => {
            let mut names = a.names.clone();
            names.extend(b.names.iter().filter(|n| !a.names.contains(n)).cloned());
            Some(Names { all: true, names })
        }
        (false, false) if b.contains_all(a) => Some(a.clone()),
        (false, false) if a.contains_all(b) => Some(b.clone()),
        (true, false) if a.shares(b) => Some(a.clone()),
        (false, true) if b.shares(a) => Some(b.clone()),
        _ => None,
    }
}

type Roles = (
    Option<(Span, RoleList)>,
    Option<(Span, RoleList)>,
    Option<LitStr>,
);

fn role_side(args: &PolicyArgs) -> Option<(&'static str, Span, &RoleList)> {
    match (&args.roles, &args.all_roles) {
        (Some((span, list)), _) => Some(("roles", *span, list)),
        (None, Some((span, list))) => Some(("all_roles", *span, list)),
        (None, None) => None,
    }
}

fn roles(
    i: &PolicyArgs,
    o: &PolicyArgs,
    written: &str,
    at: &Attribute,
) -> Result<Roles, syn::Error> {
    let (imp, op) = match (role_side(i), role_side(o)) {
        (None, None) => return Ok((None, None, None)),
        (Some(_), None) => return Ok((i.roles.clone(), i.all_roles.clone(), i.role_claim.clone())),
        (None, Some(_)) => return Ok((o.roles.clone(), o.all_roles.clone(), o.role_claim.clone())),
        (Some(a), Some(b)) => (a, b),
    };
    let (name, span, list) = op;
    let value = |c: &Option<LitStr>| c.as_ref().map(LitStr::value);
    if value(&i.role_claim) != value(&o.role_claim) {
        let place = match &o.role_claim {
            Some(c) => Place::Span(c.span()),
            None => Place::Tokens(at.to_token_stream()),
        };
        return Err(place.error(format!(
            "this operation's roles and the impl's `{written}` read different role claims \
                 (`role_claim`), and a route has one role check: write the impl's `role_claim` \
                 here too, or put this operation in an impl of its own"
        )));
    }
    let (RoleList::Names(a), RoleList::Names(b)) = (imp.2, list) else {
        return Err(syn::Error::new(
            span,
            format!(
                "`{name}` here and the impl's `{written}` must both hold, and typed role lists \
                 cannot be combined at compile time: write the roles as names \
                 (`{name} = \"a, b\"`) on both, or put this operation in an impl of its own"
            ),
        ));
    };
    let combined = both(
        &Names::normalized(imp.0 == "all_roles", a),
        &Names::normalized(name == "all_roles", b),
    )
    .ok_or_else(|| {
        syn::Error::new(
            span,
            format!(
                "`{name}` here and the impl's `{written}` must both hold, which one role check \
                 cannot say (one of several roles, and another requirement not implied by it): \
                 write the roles this operation needs as one requirement that implies the \
                 impl's, e.g. `all_roles = \"...\"` naming one role of each, or put this \
                 operation in an impl of its own"
            ),
        )
    })?;
    // One name reads `roles = "staff"`, as the user would write it.
    let all = combined.all && combined.names.len() > 1;
    let list = (span, RoleList::Names(combined.names));
    let claim = o.role_claim.clone().or_else(|| i.role_claim.clone());
    Ok(if all {
        (None, Some(list), claim)
    } else {
        (Some(list), None, claim)
    })
}

fn scopes(
    i: Option<&ScopeArg>,
    o: Option<&ScopeArg>,
    written: &str,
) -> Result<Option<ScopeArg>, syn::Error> {
    let (i, o) = match (i, o) {
        (None, None) => return Ok(None),
        (Some(s), None) | (None, Some(s)) => return Ok(Some(s.clone())),
        (Some(i), Some(o)) => (i, o),
    };
    let combined = both(
        &Names::normalized(!i.any, &i.names),
        &Names::normalized(!o.any, &o.names),
    )
    .ok_or_else(|| {
        let name = if o.any { "any_scopes" } else { "scopes" };
        syn::Error::new(
            o.span,
            format!(
                "`{name}` here and the impl's `{written}` must both hold, which one scope \
                 requirement cannot say: write `scopes = \"...\"` (all of them) naming one scope \
                 of each, or put this operation in an impl of its own"
            ),
        )
    })?;
    Ok(Some(ScopeArg {
        span: o.span,
        any: !combined.all,
        names: combined.names,
    }))
}

fn issuers(
    i: Option<&(LitStr, Vec<String>)>,
    o: Option<&(LitStr, Vec<String>)>,
    written: &str,
) -> Result<Option<(LitStr, Vec<String>)>, syn::Error> {
    let (i, o) = match (i, o) {
        (None, None) => return Ok(None),
        (Some(s), None) | (None, Some(s)) => return Ok(Some(s.clone())),
        (Some(i), Some(o)) => (i, o),
    };
    let common: Vec<String> = o.1.iter().filter(|n| i.1.contains(n)).cloned().collect();
    if common.is_empty() {
        return Err(syn::Error::new(
            o.0.span(),
            format!(
                "`issuer` here and the impl's `{written}` have no issuer in common, so no token \
                 could pass both: name one of the impl's issuers here, or put this operation in \
                 an impl of its own"
            ),
        ));
    }
    Ok(Some((LitStr::new(&common.join(", "), o.0.span()), common)))
}

fn dpop(
    i: Option<(Span, DpopArg)>,
    o: Option<(Span, DpopArg)>,
    written: &str,
) -> Result<Option<(Span, DpopArg)>, syn::Error> {
    let (i, o) = match (i, o) {
        (None, None) => return Ok(None),
        (Some(s), None) | (None, Some(s)) => return Ok(Some(s)),
        (Some(i), Some(o)) => (i, o),
    };
    match (i.1, o.1) {
        (a, b) if a == b => Ok(Some(o)),
        (DpopArg::Allowed, _) => Ok(Some(o)),
        (_, DpopArg::Allowed) => Ok(Some((o.0, i.1))),
        _ => Err(syn::Error::new(
            o.0,
            format!(
                "`dpop = \"{}\"` here and the impl's `{written}` (`dpop = \"{}\"`) refuse every \
                 token between them: restate the impl's `dpop` here, or put this operation in an \
                 impl of its own",
                o.1.variant().to_lowercase(),
                i.1.variant().to_lowercase()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protect::JWT_REQUIRED;
    use quote::quote;

    fn combine(
        imp: proc_macro2::TokenStream,
        op: proc_macro2::TokenStream,
    ) -> Result<PolicyArgs, String> {
        let i = args::parse(imp.clone(), &JWT_REQUIRED).unwrap();
        let o = args::parse(op.clone(), &JWT_REQUIRED).unwrap();
        let iw = format!("jwt_required({imp})");
        let ow = format!("{op}");
        narrow(
            &Protection {
                which: Macro::JwtRequired,
                args: &i,
                written: &iw,
            },
            &Protection {
                which: Macro::JwtRequired,
                args: &o,
                written: &ow,
            },
            &syn::parse_quote!(#[jwt_required]),
        )
        .map(|(_, a)| a)
        .map_err(|e| e.to_string())
    }

    fn names(list: &Option<(Span, RoleList)>) -> Vec<String> {
        match list {
            Some((_, RoleList::Names(n))) => n.clone(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn flags_add_up_and_roles_are_kept() {
        let a = combine(quote!(roles = "staff"), quote!(fresh)).unwrap();
        assert!(a.fresh.is_some());
        assert_eq!(names(&a.roles), ["staff"]);
    }

    #[test]
    fn role_requirements_both_hold() {
        let a = combine(quote!(roles = "staff"), quote!(roles = "admin")).unwrap();
        assert_eq!(names(&a.all_roles), ["staff", "admin"]);
        let a = combine(quote!(roles = "staff, admin"), quote!(roles = "admin")).unwrap();
        assert_eq!(names(&a.roles), ["admin"]);
        let a = combine(quote!(roles = "a, b, c"), quote!(roles = "a, b")).unwrap();
        assert_eq!(names(&a.roles), ["a", "b"]);
        let e = combine(quote!(roles = "a, b"), quote!(roles = "c, d"))
            .map(|_| ())
            .unwrap_err();
        assert!(e.contains("impl's `jwt_required(roles = \"a, b\")`"), "{e}");
    }

    #[test]
    fn a_restated_role_is_one_role_and_admin_keeps_its_claim() {
        let a = combine(quote!(roles = "staff"), quote!(roles = "staff, admin")).unwrap();
        assert_eq!(names(&a.roles), ["staff"]);
        assert!(a.all_roles.is_none());
        let i = args::parse(quote!(claim = "is_boss"), &crate::protect::ADMIN_REQUIRED).unwrap();
        let o = args::parse(quote!(fresh), &JWT_REQUIRED).unwrap();
        let (which, a) = narrow(
            &Protection {
                which: Macro::AdminRequired,
                args: &i,
                written: "admin_required",
            },
            &Protection {
                which: Macro::JwtRequired,
                args: &o,
                written: "fresh",
            },
            &syn::parse_quote!(#[jwt_required(fresh)]),
        )
        .map_err(|e| e.to_string())
        .unwrap();
        assert!(matches!(which, Macro::AdminRequired));
        assert!(a.fresh.is_some());
        assert_eq!(a.claim.map(|c| c.value()).as_deref(), Some("is_boss"));
    }

    #[test]
    fn scopes_issuers_and_dpop() {
        let a = combine(quote!(scopes = "a"), quote!(scopes = "b")).unwrap();
        assert_eq!(a.scopes.unwrap().names, ["a", "b"]);
        let a = combine(quote!(issuer = "x, y"), quote!(issuer = "y, z")).unwrap();
        assert_eq!(a.issuers.unwrap().1, ["y"]);
        assert!(combine(quote!(issuer = "x"), quote!(issuer = "z")).is_err());
        let a = combine(quote!(dpop = "allowed"), quote!(dpop)).unwrap();
        assert_eq!(a.dpop.unwrap().1, DpopArg::Required);
        assert!(combine(quote!(dpop = "disabled"), quote!(dpop)).is_err());
    }

    #[test]
    fn contradictions_name_the_impl() {
        let e = combine(quote!(refresh), quote!(fresh))
            .map(|_| ())
            .unwrap_err();
        assert!(
            e.contains("`fresh` cannot be combined with `refresh`"),
            "{e}"
        );
        assert!(e.contains("jwt_required(refresh)"), "{e}");
        let e = combine(quote!(policy = P), quote!(roles = "a"))
            .map(|_| ())
            .unwrap_err();
        assert!(e.contains("two policies"), "{e}");
    }
}
