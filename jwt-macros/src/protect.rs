//! `#[jwt_required]` and `#[admin_required]`: wrap a Poem handler in an endpoint that runs the
//! verification pipeline (and a policy) before it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ItemFn;

use crate::args::{self, Grammar, PolicyArgs};
use crate::handler_fn;
use crate::paths;

/// Which attribute is expanding.
#[derive(Clone, Copy)]
pub enum Macro {
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
    ],
};

const ADMIN_REQUIRED: Grammar = Grammar {
    macro_name: "admin_required",
    keys: &["claim", "fresh", "locations", "skip_revocation_check"],
};

/// The `VerifyOptions` constant the arguments describe.
fn options_expr(args: &PolicyArgs) -> TokenStream {
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
                .unwrap_or_else(|| quote!(::jwt_runtime::AdminRequired::DEFAULT_CLAIM));
            quote!(::jwt_runtime::AdminRequired::claim(#claim))
        }
        Macro::JwtRequired => match &args.policy {
            Some(p) => {
                let span = syn::spanned::Spanned::span(p);
                quote_spanned!(span=> #private::ensure_policy(&#p))
            }
            None => quote!(&#private::NoPolicy),
        },
    }
}

fn wrap(which: Macro, args: &PolicyArgs, handler: handler_fn::HandlerFn) -> TokenStream {
    let private = paths::private();
    let poem = paths::poem();
    let handler_fn::HandlerFn {
        mut item,
        docs,
        users,
    } = handler;
    let loaders = users.iter().map(|u| {
        let span = syn::spanned::Spanned::span(u);
        quote_spanned!(span=> #private::user_loader::<#u> as #private::UserLoaderFn)
    });
    let public = item.sig.ident.clone();
    let vis = item.vis.clone();
    let inner = format_ident!("__jwt_handler");
    item.sig.ident = inner.clone();
    item.vis = syn::Visibility::Inherited;
    let options = options_expr(args);
    let policy = match which {
        Macro::AdminRequired => {
            let p = policy_expr(which, args);
            quote!(&#p)
        }
        Macro::JwtRequired => policy_expr(which, args),
    };
    quote! {
        #(#docs)*
        #[allow(non_camel_case_types)]
        #vis struct #public;

        const _: () = {
            #item

            #[automatically_derived]
            impl #poem::Endpoint for #public {
                type Output = #poem::Response;

                async fn call(&self, req: #poem::Request) -> #poem::Result<#poem::Response> {
                    const __JWT_OPTIONS: #private::VerifyOptions = #options;
                    const __JWT_USERS: &[#private::UserLoaderFn] = &[#(#loaders),*];
                    #private::call_protected(&__JWT_OPTIONS, #policy, __JWT_USERS, &#inner, req).await
                }
            }
        };
    }
}

/// Expands `#[jwt_required(...)]` / `#[admin_required(...)]` on `item`.
///
/// Bad arguments still wrap the handler (with default arguments) beside the error, so the rest
/// of the crate keeps type-checking; a function that cannot be wrapped is emitted unchanged.
pub fn expand(which: Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let grammar = match which {
        Macro::JwtRequired => &JWT_REQUIRED,
        Macro::AdminRequired => &ADMIN_REQUIRED,
    };
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new(
                proc_macro2::Span::call_site(),
                format!("`#[{}]` applies to a handler function", grammar.macro_name),
            );
            let err = e.into_compile_error();
            return quote!(#err #item);
        }
    };
    let (args, arg_error) = match args::parse(args, grammar) {
        Ok(a) => (a, None),
        Err(e) => (PolicyArgs::default(), Some(e.into_compile_error())),
    };
    match handler_fn::analyze(item_fn.clone(), grammar.macro_name, args.optional.is_some()) {
        Ok((handler, misuse)) => {
            let misuse = misuse.map(syn::Error::into_compile_error);
            let wrapped = wrap(which, &args, handler);
            quote!(#arg_error #misuse #wrapped)
        }
        Err(e) => {
            let err = e.into_compile_error();
            quote!(#arg_error #err #item_fn)
        }
    }
}
