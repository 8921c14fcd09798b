//! The macros' output names nothing from the caller's scope: it compiles without the prelude and
//! with `Result`, `Option`, `Box`, `Send`, `String`, `Default`, `PhantomData` and `serde_json`
//! shadowed. The cases that must compile (the policy macros renamed, or consumed by
//! `#[jwt_runtime::openapi]`) are modules here too, not trybuild `pass` cases: trybuild then only
//! checks, and never builds every dependency a second time.

#[no_implicit_prelude]
mod hygienic {
    #![allow(dead_code)]
    type Result = ();
    type Option = ();
    type Box = ();
    type Send = ();
    type Default = ();
    type PhantomData = ();
    struct String;
    // poem's own `#[handler]` names `poem::...` and `std::...` relatively: bring just those two.
    use ::poem;
    use ::std;
    mod serde_json {}

    #[::jwt_runtime::jwt_required(fresh, locations = "headers")]
    #[::poem::handler]
    pub async fn fresh_only(identity: ::jwt_runtime::Identity) -> ::std::string::String {
        ::std::format!("{identity}")
    }

    #[::jwt_runtime::admin_required]
    #[::poem::handler]
    pub async fn admin() -> &'static str {
        "admin"
    }

    #[::jwt_runtime::jwt_required(scopes = "notes:read notes:write", roles = "editor")]
    #[::poem::handler]
    pub async fn scoped() -> &'static str {
        "scoped"
    }

    #[::jwt_runtime::jwt_required(dpop)]
    #[::poem::handler]
    pub async fn bound(proof: ::jwt_runtime::DpopProof) -> ::std::string::String {
        ::std::string::ToString::to_string(proof.thumbprint())
    }

    #[::jwt_runtime::admin_required(dpop = "allowed")]
    #[::poem::handler]
    pub async fn bound_admin() -> &'static str {
        "admin"
    }

    #[::jwt_runtime::jwt_required(optional)]
    #[::poem::handler]
    pub async fn maybe(jwt: ::std::option::Option<::jwt_runtime::Jwt<Claims>>) -> &'static str {
        if jwt.is_some() {
            "some"
        } else {
            "none"
        }
    }

    #[derive(::serde::Deserialize, ::jwt_runtime::JwtClaims, ::std::fmt::Debug)]
    pub struct Claims {
        pub foo: bool,
    }

    pub struct User {
        pub name: ::std::string::String,
    }

    #[::jwt_runtime::user_lookup_loader]
    pub async fn load_user(token: &::jwt_runtime::VerifiedJwt) -> ::std::option::Option<User> {
        let name = token.identity().as_str()?;
        ::std::option::Option::Some(User {
            name: <::std::string::String as ::std::convert::From<&str>>::from(name),
        })
    }

    #[::jwt_runtime::jwt_required]
    #[::poem::handler]
    pub async fn me(user: ::jwt_runtime::CurrentUser<User>) -> ::std::string::String {
        ::std::clone::Clone::clone(&user.name)
    }

    /// A generic handler: its endpoint struct and `Default` impl name nothing from here either.
    #[::jwt_runtime::jwt_required]
    #[::poem::handler]
    pub async fn typed<C>(jwt: ::jwt_runtime::Jwt<C>) -> ::std::string::String
    where
        C: ::jwt_runtime::JwtClaims + ::std::marker::Sync + ::std::fmt::Debug,
    {
        ::std::format!("{:?}", *jwt)
    }

    #[::jwt_runtime::additional_claims]
    pub async fn extra(_identity: &::serde_json_crate::Value) -> ::serde_json_crate::Value {
        let mut claims = ::serde_json_crate::Map::new();
        claims.insert(
            <::std::string::String as ::std::convert::From<&str>>::from("foo"),
            ::serde_json_crate::Value::Bool(true),
        );
        ::serde_json_crate::Value::Object(claims)
    }

    /// State the loader below reads.
    pub struct Tenant(pub &'static str);

    #[::jwt_runtime::additional_claims]
    pub async fn tenant(
        _identity: &::serde_json_crate::Value,
        tenant: &Tenant,
    ) -> ::serde_json_crate::Map<::std::string::String, ::serde_json_crate::Value> {
        let mut claims = ::serde_json_crate::Map::new();
        claims.insert(
            <::std::string::String as ::std::convert::From<&str>>::from("tenant"),
            <::serde_json_crate::Value as ::std::convert::From<&str>>::from(tenant.0),
        );
        claims
    }
}

extern crate serde_json as serde_json_crate;

/// The policy macros under another name: each finds `#[handler]` below itself (it must compile,
/// with `unused_imports` denied).
#[allow(dead_code)]
#[path = "must-compile/renamed-policy-macros.rs"]
mod renamed_policy_macros;

/// The macros `#[jwt_runtime::openapi]` consumes count as used (it must compile, with
/// `unused_imports` denied).
#[cfg(feature = "openapi")]
#[allow(dead_code)]
#[path = "must-compile/openapi-imported-policy-macros.rs"]
mod openapi_imported_policy_macros;

#[tokio::test]
async fn hygienic_handlers_work() {
    use poem::{get, EndpointExt, Route};
    let jwt = jwt_runtime::JwtManager::builder(
        jwt_runtime::JwtConfig::default().with_secret("k".repeat(32)),
    )
    .additional_claims(hygienic::extra)
    .build()
    .unwrap();
    let token = jwt.create_access_token("alice").fresh(true).await.unwrap();
    let app = Route::new()
        .at("/fresh", get(hygienic::fresh_only))
        .at("/admin", get(hygienic::admin))
        .at("/maybe", get(hygienic::maybe))
        .at("/me", get(hygienic::me))
        .at("/scoped", get(hygienic::scoped))
        .at(
            "/typed",
            get(hygienic::typed::<hygienic::Claims>::default()),
        )
        .with(jwt);
    let cli = poem::test::TestClient::new(app);
    let auth = format!("Bearer {token}");
    cli.get("/fresh")
        .header("Authorization", &auth)
        .send()
        .await
        .assert_text("alice")
        .await;
    cli.get("/maybe")
        .header("Authorization", &auth)
        .send()
        .await
        .assert_text("some")
        .await;
    cli.get("/maybe").send().await.assert_text("none").await;
    // The token holds neither the scopes nor the role: the scopes are checked first.
    let resp = cli
        .get("/scoped")
        .header("Authorization", &auth)
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::FORBIDDEN);
    resp.assert_text("{\"msg\":\"Missing scopes: notes:read, notes:write\"}\n")
        .await;
    cli.get("/me")
        .header("Authorization", &auth)
        .send()
        .await
        .assert_text("alice")
        .await;
    cli.get("/typed")
        .header("Authorization", &auth)
        .send()
        .await
        .assert_text("Claims { foo: true }")
        .await;
    cli.get("/admin")
        .header("Authorization", &auth)
        .send()
        .await
        .assert_status(poem::http::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_hygienic_loader_reads_its_state() {
    let jwt = jwt_runtime::JwtManager::builder(
        jwt_runtime::JwtConfig::default().with_secret("k".repeat(32)),
    )
    .data(hygienic::Tenant("acme"))
    .additional_claims(hygienic::tenant)
    .build()
    .unwrap();
    let token = jwt.create_access_token("alice").await.unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["tenant"], "acme");
}
