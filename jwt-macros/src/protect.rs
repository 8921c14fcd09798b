//! `#[jwt_required]` and `#[admin_required]`: wrap a Poem handler in an endpoint that runs the
//! verification pipeline (and a policy) before it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};

use crate::args::{self, Grammar, PolicyArgs, RoleList};
use crate::expand::{self, Errors};
use crate::handler_fn;
use crate::paths;

/// The name a wrapped handler function gets inside its endpoint's `const _` block.
const INNER_HANDLER: &str = "__jwt_handler";

/// Which attribute is expanding.
#[derive(Clone, Copy)]
pub(crate) enum Macro {
    JwtRequired,
    AdminRequired,
}

pub(crate) const JWT_REQUIRED: Grammar = Grammar {
    macro_name: "jwt_required",
    keys: &[
        "optional",
        "fresh",
        "refresh",
        "locations",
        "verify_type",
        "skip_revocation_check",
        "policy",
        "roles",
        "all_roles",
        "role_claim",
        "issuer",
        "scopes",
        "any_scopes",
        "dpop",
    ],
    refused: &[(
        "claim",
        "the admin claim is `#[admin_required(claim = \"...\")]`'s; here write a `policy = ...`",
    )],
};

pub(crate) const ADMIN_REQUIRED: Grammar = Grammar {
    macro_name: "admin_required",
    keys: &[
        "claim",
        "fresh",
        "locations",
        "skip_revocation_check",
        "issuer",
        "scopes",
        "any_scopes",
        "dpop",
    ],
    refused: &[
        (
            "refresh",
            "an admin route takes access tokens; a refresh route is `#[jwt_required(refresh)]`",
        ),
        (
            "policy",
            "it is a policy already; for another one write `#[jwt_required(policy = ...)]`",
        ),
        (
            "roles",
            "it is a policy already; for a role check write `#[jwt_required(roles = \"...\")]`",
        ),
        (
            "all_roles",
            "it is a policy already; for a role check write `#[jwt_required(all_roles = \"...\")]`",
        ),
        (
            "role_claim",
            "it is a policy already; for a role check write `#[jwt_required(roles = \"...\", role_claim = \"...\")]`",
        ),
    ],
};

/// The `VerifyOptions` constant the arguments describe.
pub(crate) fn options_expr(args: &PolicyArgs) -> TokenStream {
    let private = paths::private();
    let mut expr = quote!(#private::VerifyOptions::new());
    if args.optional.is_some() {
        expr = quote!(#expr.optional());
    }
    if args.fresh.is_some() {
        expr = quote!(#expr.fresh());
    }
    if args.refresh.is_some() {
        expr = quote!(#expr.refresh());
    }
    if let Some(v) = &args.verify_type {
        expr = quote!(#expr.verify_type(#v));
    }
    if args.skip_revocation_check.is_some() {
        expr = quote!(#expr.skip_revocation_check());
    }
    if let Some((_, names)) = &args.locations {
        let variants = names.iter().map(|n| match n.as_str() {
            "headers" => format_ident!("Headers"),
            "cookies" => format_ident!("Cookies"),
            "query_string" => format_ident!("QueryString"),
            _ => format_ident!("Json"),
        });
        expr = quote!(#expr.locations(&[#(#private::Location::#variants),*]));
    }
    if let Some((_, issuers)) = &args.issuers {
        expr = quote!(#expr.issuers(&[#(#issuers),*]));
    }
    if let Some(scopes) = &args.scopes {
        let ctor = if scopes.any { quote!(any) } else { quote!(all) };
        let names = &scopes.names;
        expr = quote!(#expr.scopes(#private::Scopes::#ctor(&[#(#names),*])));
    }
    if let Some((_, mode)) = &args.dpop {
        let variant = format_ident!("{}", mode.variant());
        expr = quote!(#expr.dpop(#private::DpopMode::#variant));
    }
    expr
}

fn policy_expr(which: Macro, args: &PolicyArgs) -> TokenStream {
    let private = paths::private();
    match which {
        Macro::AdminRequired => {
            let claim = args
                .claim
                .as_ref()
                .map(ToTokens::to_token_stream)
                .unwrap_or_else(|| quote!(#private::AdminRequired::DEFAULT_CLAIM));
            // A constant, so a reference to it is `'static` (see `wrap`).
            quote!({
                const __JWT_POLICY: #private::AdminRequired = #private::AdminRequired::claim(#claim);
                &__JWT_POLICY
            })
        }
        Macro::JwtRequired => match &args.policy {
            None if args.roles.is_some() || args.all_roles.is_some() => roles_expr(args),
            Some(p) => {
                let span = syn::spanned::Spanned::span(p);
                quote_spanned!(span=> #private::ensure_policy(&#p))
            }
            None => quote!(&#private::NoPolicy),
        },
    }
}

/// `roles = ...` / `all_roles = ...` as a `&'static Roles` (a `static`, built once).
fn roles_expr(args: &PolicyArgs) -> TokenStream {
    let private = paths::private();
    let (all, list) = match (&args.roles, &args.all_roles) {
        (Some((_, list)), _) => (false, list),
        (None, Some((_, list))) => (true, list),
        (None, None) => return quote!(&#private::NoPolicy),
    };
    let claim = args
        .role_claim
        .as_ref()
        .map(ToTokens::to_token_stream)
        .unwrap_or_else(|| quote!(#private::Roles::DEFAULT_CLAIM));
    match list {
        RoleList::Names(names) => quote!({
            static __JWT_ROLES: #private::Roles =
                #private::Roles::__from_static(#all, &[#(#names),*], #claim);
            &__JWT_ROLES
        }),
        RoleList::Typed(values) => {
            let ctor = if all { quote!(all) } else { quote!(any) };
            let names = values.iter().map(|v| {
                let span = syn::spanned::Spanned::span(v);
                quote_spanned!(span=> #private::role_name(&#v))
            });
            quote!({
                static __JWT_ROLES: #private::LazyLock<#private::Roles> =
                    #private::LazyLock::new(|| {
                        #private::Roles::#ctor([#(#names),*]).claim(#claim)
                    });
                &*__JWT_ROLES
            })
        }
    }
}

/// The policy the arguments describe, as a reference expression.
pub(crate) fn policy_ref(which: Macro, args: &PolicyArgs) -> TokenStream {
    policy_expr(which, args)
}

/// Whether [`policy_ref`] is a `'static` reference: every policy but a `policy = ...`
/// expression, which may build a value on each call.
fn policy_is_static(which: Macro, args: &PolicyArgs) -> bool {
    matches!(which, Macro::AdminRequired) || args.policy.is_none()
}

/// The user loaders of the `CurrentUser<U>` parameters, each type-checked at the user's type.
pub(crate) fn user_loaders(users: &[syn::Type]) -> Vec<TokenStream> {
    let private = paths::private();
    users
        .iter()
        .map(|u| {
            let span = syn::spanned::Spanned::span(u);
            quote_spanned!(span=> #private::user_loader::<#u> as #private::UserLoaderFn)
        })
        .collect()
}

fn wrap(which: Macro, args: &PolicyArgs, handler: handler_fn::HandlerFn) -> TokenStream {
    let private = paths::private();
    let poem = paths::poem();
    let handler_fn::HandlerFn {
        mut item,
        docs,
        users,
    } = handler;
    let loaders = user_loaders(&users);
    let public = item.sig.ident.clone();
    let vis = item.vis.clone();
    let inner = format_ident!("{}", INNER_HANDLER);
    item.sig.ident = inner.clone();
    item.vis = syn::Visibility::Inherited;
    let options = options_expr(args);
    let policy = policy_ref(which, args);
    let generics = item.sig.generics.clone();
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let def_struct = endpoint_struct(&vis, &public, &generics);
    // A generic handler's endpoint is a value of its own (`#[handler]` makes it `Default`); its
    // user loaders may name its type parameters, which a `const` cannot.
    let (inner_value, users_decl) = if generics.params.is_empty() {
        (
            quote!(#inner),
            quote!(const __JWT_USERS: &[#private::UserLoaderFn] = &[#(#loaders),*];),
        )
    } else {
        let turbofish = type_generics.as_turbofish();
        (
            quote!(<#inner #turbofish as ::core::default::Default>::default()),
            quote!(#[allow(non_snake_case)] let __JWT_USERS: &[#private::UserLoaderFn] = &[#(#loaders),*];),
        )
    };
    // When every argument of the protection is a constant (a non-generic handler, a policy that
    // is not a `policy = ...` expression), `call` returns the protection's future itself:
    // otherwise it is an `async fn` owning what the future borrows, one more future (holding
    // the request) for every request to build and move.
    let call = if generics.params.is_empty() && policy_is_static(which, args) {
        quote! {
            fn call(
                &self,
                req: #poem::Request,
            ) -> impl ::core::future::Future<Output = #poem::Result<#poem::Response>> + ::core::marker::Send {
                const __JWT_OPTIONS: #private::VerifyOptions = #options;
                #users_decl
                #private::call_protected(&__JWT_OPTIONS, #policy, __JWT_USERS, &#inner_value, req)
            }
        }
    } else {
        quote! {
            async fn call(&self, req: #poem::Request) -> #poem::Result<#poem::Response> {
                const __JWT_OPTIONS: #private::VerifyOptions = #options;
                #users_decl
                #private::call_protected(&__JWT_OPTIONS, #policy, __JWT_USERS, &#inner_value, req).await
            }
        }
    };
    quote! {
        #(#docs)*
        #def_struct

        const _: () = {
            #item

            #[automatically_derived]
            impl #impl_generics #poem::Endpoint for #public #type_generics #where_clause {
                type Output = #poem::Response;

                #call
            }
        };
    }
}

/// The public endpoint struct, as Poem's `#[handler]` declares it: a unit struct, or for a
/// generic handler one `PhantomData` field per type parameter and a `Default` impl (the endpoint
/// is `name::<T>::default()`).
fn endpoint_struct(
    vis: &syn::Visibility,
    name: &syn::Ident,
    generics: &syn::Generics,
) -> TokenStream {
    if generics.params.is_empty() {
        return quote! {
            #[allow(non_camel_case_types)]
            #vis struct #name;
        };
    }
    let (_, type_generics, _) = generics.split_for_impl();
    let marks: Vec<_> = generics
        .type_params()
        .enumerate()
        .map(|(i, param)| (format_ident!("_mark{}", i), &param.ident))
        .collect();
    let fields = marks
        .iter()
        .map(|(field, ty)| quote!(#field: ::core::marker::PhantomData<#ty>));
    let values = marks
        .iter()
        .map(|(field, _)| quote!(#field: ::core::marker::PhantomData));
    quote! {
        #[allow(non_camel_case_types)]
        #vis struct #name #type_generics { #(#fields),* }

        #[automatically_derived]
        impl #type_generics ::core::default::Default for #name #type_generics {
            fn default() -> Self {
                Self { #(#values),* }
            }
        }
    }
}

/// The name of a policy macro attribute (`jwt_required`, `admin_required`), by its last segment.
pub(crate) fn policy_macro_name(attr: &syn::Attribute) -> Option<String> {
    let name = attr.path().segments.last()?.ident.to_string();
    matches!(name.as_str(), "jwt_required" | "admin_required").then_some(name)
}

/// The arguments of an attribute as written (`fresh, locations = "..."`), empty for none.
fn written_args(attr: &syn::Attribute) -> String {
    match &attr.meta {
        syn::Meta::List(list) => list.tokens.to_string(),
        _ => String::new(),
    }
}

/// A second policy macro below this one: one policy per handler. Suggests the one attribute
/// that says both (`#[jwt_required(fresh)] #[admin_required]` is `#[admin_required(fresh)]`),
/// and removes the inner one so it reports nothing more.
pub(crate) fn stacked_policy(
    which: Macro,
    outer_args: &str,
    attrs: &mut Vec<syn::Attribute>,
) -> Option<syn::Error> {
    let index = attrs.iter().position(|a| policy_macro_name(a).is_some())?;
    let inner = attrs.remove(index);
    let inner_name = policy_macro_name(&inner).unwrap_or_default();
    let outer_name = match which {
        Macro::JwtRequired => "jwt_required",
        Macro::AdminRequired => "admin_required",
    };
    let merged_name = if outer_name == "admin_required" || inner_name == "admin_required" {
        "admin_required"
    } else {
        "jwt_required"
    };
    let args: Vec<String> = [outer_args.to_string(), written_args(&inner)]
        .into_iter()
        .filter(|a| !a.trim().is_empty())
        .collect();
    let suggestion = if args.is_empty() {
        format!("#[{merged_name}]")
    } else {
        format!("#[{merged_name}({})]", args.join(", "))
    };
    Some(syn::Error::new_spanned(
        &inner,
        format!(
            "`#[{outer_name}]` and `#[{inner_name}]` cannot be stacked: a handler has one policy \
             macro; write `{suggestion}`"
        ),
    ))
}

/// Expands `#[jwt_required(...)]` / `#[admin_required(...)]` on `item`.
///
/// Bad arguments still wrap the handler (with default arguments) beside the error, so the rest
/// of the crate keeps type-checking; a function that cannot be wrapped is emitted unchanged.
pub(crate) fn expand(which: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let grammar = match which {
        Macro::JwtRequired => &JWT_REQUIRED,
        Macro::AdminRequired => &ADMIN_REQUIRED,
    };
    let mut item_fn = match expand::parse_fn(item, grammar.macro_name, "a handler function") {
        Ok(f) => f,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let written = args.to_string();
    let args = errors.take(args::parse(args, grammar)).unwrap_or_default();
    if let Some(stacked) = stacked_policy(which, &written, &mut item_fn.attrs) {
        errors.push(stacked);
    }
    if item_fn.sig.ident == INNER_HANDLER {
        // Another policy macro above this one wrapped the function already: it did not see this
        // one by name, so it is imported under another name.
        let here = proc_macro2::Span::call_site();
        let written = here
            .source_text()
            .unwrap_or_else(|| format!("#[{}]", grammar.macro_name));
        errors.push(syn::Error::new(
            here,
            format!(
                "`{written}` (`{}` under another name) is stacked below another policy macro, \
                 which looks for them by name and could not see it: a handler has one policy \
                 macro; write one attribute with the arguments of both (`#[admin_required(...)]` \
                 when one of them is `admin_required`)",
                grammar.macro_name
            ),
        ));
        let errors = errors.into_compile_errors();
        return quote!(#errors #item_fn);
    }
    match handler_fn::analyze(
        item_fn,
        grammar.macro_name,
        args.optional.is_some(),
        &mut errors,
    ) {
        Ok(handler) => {
            let wrapped = wrap(which, &args, handler);
            let errors = errors.into_compile_errors();
            quote!(#errors #wrapped)
        }
        Err(unwrapped) => {
            let errors = errors.into_compile_errors();
            quote!(#errors #unwrapped)
        }
    }
}
