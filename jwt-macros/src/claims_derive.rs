//! `#[derive(JwtClaims)]`: a user's claims struct, readable as `Jwt<Self>`, whose fields may not
//! collide with the reserved claims.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::paths;

/// The claims the runtime writes itself (kept equal to `jwt_runtime::RESERVED_CLAIMS`).
pub(crate) const RESERVED: &[&str] = &[
    "fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "aud", "iss", "exp", "cnf",
];

/// The name serde reads a field under, and whether serde reads it at all.
fn serde_name(field: &syn::Field) -> syn::Result<Option<String>> {
    let mut name = field
        .ident
        .as_ref()
        .map(|i| i.to_string().trim_start_matches("r#").to_string());
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if let Ok(value) = meta.value() {
                    name = Some(value.parse::<LitStr>()?.value());
                } else {
                    // rename(deserialize = "...")
                    meta.parse_nested_meta(|inner| {
                        let v: LitStr = inner.value()?.parse()?;
                        if inner.path.is_ident("deserialize") {
                            name = Some(v.value());
                        }
                        Ok(())
                    })?;
                }
            } else if meta.path.is_ident("skip")
                || meta.path.is_ident("skip_deserializing")
                || meta.path.is_ident("flatten")
            {
                name = None;
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    if inner.input.peek(syn::Token![=]) {
                        inner.value()?.parse::<syn::Expr>()?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    }
    Ok(name)
}

fn check(input: &DeriveInput) -> syn::Result<()> {
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "`JwtClaims` can only be derived for structs with named fields",
                ))
            }
        },
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`JwtClaims` can only be derived for structs with named fields",
            ))
        }
    };
    let mut errors: Option<syn::Error> = None;
    for field in fields {
        if let Some(name) = serde_name(field)?
            && RESERVED.contains(&name.as_str())
        {
            let e = syn::Error::new_spanned(
                    field.ident.as_ref().map(|i| i as &dyn quote::ToTokens).unwrap_or(field),
                    format!(
                        "field `{name}` collides with the reserved claim `{name}`; read it from `jwt.reserved()` instead"
                    ),
                );
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Expands `#[derive(JwtClaims)]`. On error the impl is still emitted, so uses of the type do
/// not pile up unrelated errors.
pub(crate) fn expand(item: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.into_compile_error(),
    };
    let error = check(&input).err().map(syn::Error::into_compile_error);
    let private = paths::private();
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #error
        #[automatically_derived]
        impl #impl_generics #private::JwtClaims for #ident #ty_generics #where_clause {
            fn from_claims(
                claims: &#private::JsonObject,
            ) -> #private::Result<Self, #private::String> {
                #private::deserialize_claims(claims)
            }
        }
    }
}
