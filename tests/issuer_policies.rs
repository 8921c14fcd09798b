//! Strict by default for tokens issued elsewhere (issue 25): a provider's token never satisfies
//! this app's own claim policies (the admin claim, `fresh`, `type: refresh`) unless its issuer is
//! trusted for them; a route names the issuers it accepts (`issuer = "..."`, route groups);
//! trusted issuers come from the environment or a config file too; and the JWT access-token
//! profile of RFC 9068 can be required of a trusted issuer or of the remote key set.

use crate::foreign_tokens::{app_config, provider, Provider};
use crate::support::*;

use jwt_runtime::keys::TrustedIssuer;
use jwt_runtime::{
    admin_required, jwt_required, user_lookup_loader, CurrentUser, Guarded, Identity, JwtConfig,
    JwtManager, JwtRequired, VerifiedJwt,
};
use poem::test::TestClient;
use poem::{get, handler, post, EndpointExt, Request, Route};
use serde_json::{json, Value};

#[jwt_required]
#[handler]
async fn me(identity: Identity) -> String {
    identity.to_string()
}

#[admin_required]
#[handler]
async fn admin() -> &'static str {
    "admin"
}

#[jwt_required(fresh)]
#[handler]
async fn fresh() -> &'static str {
    "fresh"
}

#[jwt_required(refresh)]
#[handler]
async fn refresh(identity: Identity) -> String {
    format!("refresh {identity}")
}

#[jwt_required(issuer = "https://partner.example, https://idp.example")]
#[handler]
async fn partners(identity: Identity) -> String {
    format!("partner {identity}")
}

/// A user of this app, or of a trusted issuer: keyed by both, as the docs advise.
struct User {
    key: String,
}

#[user_lookup_loader]
async fn load_user(token: &VerifiedJwt, _req: &Request) -> Option<User> {
    let name = token.identity().as_str()?;
    Some(User {
        key: match token.trusted_issuer() {
            None => name.to_string(),
            Some(issuer) => format!("{issuer}#{name}"),
        },
    })
}

#[jwt_required]
#[handler]
async fn whoami(user: CurrentUser<User>) -> String {
    user.key.clone()
}

#[handler]
async fn grouped(Guarded(identity): Guarded<Identity>) -> String {
    format!("group {identity}")
}

fn routes() -> Route {
    Route::new()
        .at("/me", get(me))
        .at("/whoami", get(whoami))
        .at("/admin", get(admin))
        .at("/fresh", get(fresh))
        .at("/refresh", post(refresh))
        .at("/partners", get(partners))
        .nest(
            "/group",
            Route::new()
                .at("/", get(grouped))
                .with(JwtRequired::new().issuers(&["https://partner.example"])),
        )
}

/// Status and body of `method path` with `token`.
async fn call(app: &JwtManager, method: &str, path: &str, token: &str) -> (u16, String) {
    let cli = TestClient::new(routes().with(app.clone()));
    let req = match method {
        "POST" => cli.post(path),
        _ => cli.get(path),
    };
    let resp = req.header("Authorization", bearer(token)).send().await;
    let status = resp.0.status().as_u16();
    (status, resp.0.into_body().into_string().await.unwrap())
}

fn msg(text: &str) -> String {
    format!("{}\n", json!({ "msg": text }))
}

/// A provider's token claiming everything this app's own policies read.
fn claims_everything(jti: &str) -> Value {
    json!({"aud": "api", "sub": "mallory", "jti": jti, "is_administrator": true, "fresh": true, "type": "refresh"})
}

/// What the refresh and access routes answer a provider's token claiming `type: refresh` when
/// its claims are not this app's: never a refresh token, and still not an access token.
async fn assert_claims_mean_nothing(app: &JwtManager, token: &str) {
    assert_eq!(
        call(app, "POST", "/refresh", token).await,
        (422, msg("Only refresh tokens are allowed"))
    );
    assert_eq!(
        call(app, "GET", "/me", token).await,
        (422, msg("Only non-refresh tokens are allowed"))
    );
}

/// What each route answers the same token when its issuer is trusted for this app's claims.
async fn assert_claims_count(app: &JwtManager, admin_token: &str, refresh_token: &str) {
    assert_eq!(
        call(app, "GET", "/admin", admin_token).await,
        (200, "admin".into())
    );
    assert_eq!(
        call(app, "GET", "/fresh", admin_token).await,
        (200, "fresh".into())
    );
    assert_eq!(
        call(app, "POST", "/refresh", refresh_token).await,
        (200, "refresh mallory".into())
    );
    assert_eq!(
        call(app, "GET", "/me", refresh_token).await,
        (422, msg("Only non-refresh tokens are allowed"))
    );
}

async fn trusting(issuer: TrustedIssuer) -> JwtManager {
    builder(app_config())
        .trust_issuer(issuer)
        .build_async()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_trusted_issuers_token_never_satisfies_this_apps_own_claims() {
    let idp = provider("rsa_a.pem", "a").await;
    let app = trusting(idp.trusted().audience("api")).await;
    let foreign = idp.token(claims_everything("f-1"));
    assert_claims_mean_nothing(&app, &foreign).await;
    let access = idp.token(json!({"aud": "api", "sub": "mallory", "jti": "f-2", "is_administrator": true, "fresh": true}));
    assert_eq!(
        call(&app, "GET", "/admin", &access).await,
        (403, msg("Admins only!"))
    );
    assert_eq!(
        call(&app, "GET", "/fresh", &access).await,
        (401, msg("Fresh token required"))
    );
    assert_eq!(
        call(&app, "GET", "/me", &access).await,
        (200, "mallory".into())
    );
    // This app's own tokens still do.
    let own_admin = hs256(claims_with(
        "bob",
        json!({"is_administrator": true, "fresh": true}),
    ));
    let own_refresh = hs256(claims_with("bob", json!({"type": "refresh"})));
    assert_eq!(
        call(&app, "GET", "/admin", &own_admin).await,
        (200, "admin".into())
    );
    assert_eq!(
        call(&app, "GET", "/fresh", &own_admin).await,
        (200, "fresh".into())
    );
    assert_eq!(
        call(&app, "POST", "/refresh", &own_refresh).await,
        (200, "refresh bob".into())
    );

    // A user loader tells a provider's `mallory` from this app's.
    let own_mallory = hs256(claims_with("mallory", json!({})));
    assert_eq!(
        call(&app, "GET", "/whoami", &own_mallory).await,
        (200, "mallory".into())
    );
    assert_eq!(
        call(&app, "GET", "/whoami", &access).await,
        (200, format!("{}#mallory", idp.base))
    );

    // An issuer trusted for them, in code and from a config file.
    let app = trusting(idp.trusted().audience("api").trust_app_claims()).await;
    assert_claims_count(&app, &access, &foreign).await;
    let parsed: TrustedIssuer = serde_json::from_value(json!({
        "issuer": idp.base, "jwks_url": idp.jwks_url(), "audience": "api", "trust_app_claims": true
    }))
    .unwrap();
    let app = trusting(parsed).await;
    assert_claims_count(&app, &access, &foreign).await;
}

/// The remote key set's tokens beside this app's own: the provider's claims are not this app's
/// unless `JWT_DECODE_TRUST_APP_CLAIMS`.
#[tokio::test]
async fn a_remote_key_sets_token_never_satisfies_this_apps_own_claims() {
    let idp = provider("rsa_a.pem", "a").await;
    let config = JwtConfig {
        decode_jwks_url: Some(idp.jwks_url()),
        decode_audience: Some(vec!["api".into()]),
        ..app_config()
    };
    let app = builder(config.clone()).build_async().await.unwrap();
    let foreign = idp.token(claims_everything("r-1"));
    assert_claims_mean_nothing(&app, &foreign).await;
    let access = idp.token(json!({"aud": "api", "sub": "mallory", "jti": "r-2", "is_administrator": true, "fresh": true}));
    assert_eq!(
        call(&app, "GET", "/admin", &access).await,
        (403, msg("Admins only!"))
    );
    assert_eq!(
        call(&app, "GET", "/fresh", &access).await,
        (401, msg("Fresh token required"))
    );
    let own_admin = hs256(claims_with(
        "bob",
        json!({"aud": "api", "is_administrator": true, "fresh": true}),
    ));
    assert_eq!(
        call(&app, "GET", "/admin", &own_admin).await,
        (200, "admin".into())
    );

    let trusted = JwtConfig {
        decode_trust_app_claims: true,
        ..config
    };
    let app = builder(trusted).build_async().await.unwrap();
    assert_claims_count(&app, &access, &foreign).await;
    let from_env = JwtConfig::from_vars([("JWT_DECODE_TRUST_APP_CLAIMS", "true")], &[]).unwrap();
    assert!(from_env.decode_trust_app_claims);
}

/// A token verified by a key of the remote set is the provider's, whatever its `kid`: a provider
/// key named like one of this app's own keys (another algorithm) does not make its tokens this
/// app's (the key that verified the token says where it came from, not its `kid`).
#[tokio::test]
async fn a_remote_key_named_like_an_own_key_still_verifies_a_foreign_token() {
    let idp = provider("rsa_a.pem", "a").await;
    let config = JwtConfig {
        decode_jwks_url: Some(idp.jwks_url()),
        decode_audience: Some(vec!["api".into()]),
        // This app's own key `a`, an HMAC key: the provider's `a` is RS256.
        decode_keys: vec![jwt_runtime::keys::DecodeKeyConfig {
            kid: "a".into(),
            algorithm: "HS256".into(),
            public_key: None,
            secret: Some("s".repeat(32)),
        }],
        ..app_config()
    };
    let app = builder(config.clone()).build_async().await.unwrap();
    let access = idp.token(json!({"aud": "api", "sub": "mallory", "jti": "k-1", "is_administrator": true, "fresh": true}));
    assert_eq!(
        call(&app, "GET", "/me", &access).await,
        (200, "mallory".into())
    );
    assert_eq!(
        call(&app, "GET", "/admin", &access).await,
        (403, msg("Admins only!"))
    );
    assert_eq!(
        call(&app, "GET", "/fresh", &access).await,
        (401, msg("Fresh token required"))
    );
    let foreign = idp.token(claims_everything("k-2"));
    assert_claims_mean_nothing(&app, &foreign).await;
    // Its user is the provider's, for the user loader too (filed under the JWK set's URL: no
    // issuer rule names the provider).
    assert_eq!(
        call(&app, "GET", "/whoami", &access).await,
        (200, format!("{}#mallory", idp.jwks_url()))
    );
    // And the RFC 9068 profile of the remote set applies to it.
    let profiled = JwtConfig {
        decode_access_token_profile: true,
        ..config
    };
    let app = builder(profiled).build_async().await.unwrap();
    assert_eq!(
        call(&app, "GET", "/me", &access).await,
        (
            422,
            msg("Invalid token type: an access token has the header typ \"at+jwt\" (RFC 9068)")
        )
    );
    let at = idp.token_typed(
        "at+jwt",
        json!({"aud": "api", "sub": "mallory", "jti": "k-3", "client_id": "c"}),
    );
    assert_eq!(call(&app, "GET", "/me", &at).await, (200, "mallory".into()));
}

/// The remote key set's users are the provider's for a user loader: `trusted_issuer()` names the
/// set's issuer (the token's verified `iss`), so the provider's `mallory` never loads this app's.
#[tokio::test]
async fn a_user_loader_tells_a_remote_sets_user_from_a_local_one() {
    let idp = provider("rsa_a.pem", "a").await;
    let config = JwtConfig {
        decode_jwks_url: Some(idp.jwks_url()),
        decode_issuer: Some(vec![idp.base.clone()]),
        decode_audience: Some(vec!["api".into()]),
        ..app_config()
    };
    let app = builder(config).build_async().await.unwrap();
    let theirs = idp.token(json!({"aud": "api", "sub": "mallory", "jti": "u-1"}));
    let ours = hs256(claims_with(
        "mallory",
        json!({"aud": "api", "iss": idp.base}),
    ));
    assert_eq!(
        call(&app, "GET", "/whoami", &ours).await,
        (200, "mallory".into())
    );
    assert_eq!(
        call(&app, "GET", "/whoami", &theirs).await,
        (200, format!("{}#mallory", idp.base))
    );
}

/// `issuer = "..."` on a handler and `JwtRequired::issuers` on a group: only those issuers'
/// tokens, trusted or this app's own; 422 with PyJWT's messages otherwise.
#[tokio::test]
async fn a_route_names_the_issuers_it_accepts() {
    let idp = provider("rsa_a.pem", "a").await;
    let app = trusting(idp.trusted().audience("api")).await;
    let own = |iss: Option<&str>| {
        let iss = iss.map_or(Value::Null, Value::from);
        hs256(claims_with("bob", json!({ "iss": iss })))
    };
    assert_eq!(
        call(&app, "GET", "/partners", &own(Some("https://idp.example"))).await,
        (200, "partner bob".into())
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/partners",
            &own(Some("https://partner.example"))
        )
        .await,
        (200, "partner bob".into())
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/partners",
            &own(Some("https://other.example"))
        )
        .await,
        (422, msg("Invalid issuer"))
    );
    assert_eq!(
        call(&app, "GET", "/partners", &own(None)).await,
        (422, msg("Token is missing the \"iss\" claim"))
    );
    // A trusted issuer's token passes the manager, not a route that names others.
    let foreign = idp.token(json!({"aud": "api", "sub": "mallory", "jti": "i-1"}));
    assert_eq!(
        call(&app, "GET", "/me", &foreign).await,
        (200, "mallory".into())
    );
    assert_eq!(
        call(&app, "GET", "/partners", &foreign).await,
        (422, msg("Invalid issuer"))
    );
    // A route group.
    assert_eq!(
        call(
            &app,
            "GET",
            "/group/",
            &own(Some("https://partner.example"))
        )
        .await,
        (200, "group bob".into())
    );
    assert_eq!(
        call(&app, "GET", "/group/", &own(Some("https://idp.example"))).await,
        (422, msg("Invalid issuer"))
    );
    assert_eq!(
        call(&app, "GET", "/group/", &foreign).await,
        (422, msg("Invalid issuer"))
    );
}

/// `JWT_TRUSTED_ISSUERS` (JSON) and `trusted_issuers` in a config file, beside `trust_issuer`.
#[tokio::test]
async fn trusted_issuers_from_the_environment_or_a_config_file() {
    let idp = provider("rsa_a.pem", "a").await;
    let partner = provider("rsa_b.pem", "b").await;
    let issuers = json!([{"issuer": idp.base, "jwks_url": idp.jwks_url(), "audience": "api", "identity_claim": "email"}]);
    let config = JwtConfig::from_vars(
        [
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_JWKS_ALLOW_HTTP", "true"),
            ("JWT_TRUSTED_ISSUERS", issuers.to_string().as_str()),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(config.trusted_issuers.len(), 1);
    let app = builder(config.clone())
        .trust_issuer(partner.trusted().audience("api"))
        .build_async()
        .await
        .unwrap();
    let token = idp.token(json!({"aud": "api", "email": "erin@example.com", "jti": "e-1"}));
    assert_eq!(
        call(&app, "GET", "/me", &token).await,
        (200, "erin@example.com".into())
    );
    let partner_token = partner.token(json!({"aud": "api", "sub": "pat", "jti": "p-1"}));
    assert_eq!(
        call(&app, "GET", "/me", &partner_token).await,
        (200, "pat".into())
    );
    // The same issuer in both lists is trusted twice: refused.
    let twice = builder(config.clone())
        .trust_issuer(idp.trusted().audience("api"))
        .build_async()
        .await
        .unwrap_err()
        .to_string();
    assert!(twice.contains("is trusted twice"), "{twice}");
    // The rules of `trust_issuer` hold: an issuer without an audience refuses startup.
    let no_audience = json!([{"issuer": idp.base, "jwks_url": idp.jwks_url()}]).to_string();
    let config = JwtConfig::from_vars(
        [
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_JWKS_ALLOW_HTTP", "true"),
            ("JWT_TRUSTED_ISSUERS", no_audience.as_str()),
        ],
        &[],
    )
    .unwrap();
    let err = builder(config.clone())
        .build_async()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs an audience"), "{err}");
    // build() names build_async.
    let err = builder(config).build().unwrap_err().to_string();
    assert!(
        err.contains("JWT_TRUSTED_ISSUERS") && err.contains("build_async"),
        "{err}"
    );
    // A misspelled field is an error naming the option.
    let err = JwtConfig::from_vars(
        [(
            "JWT_TRUSTED_ISSUERS",
            r#"[{"issuer": "https://a.example", "audiences": "api"}]"#,
        )],
        &[],
    )
    .unwrap_err();
    assert_eq!(err.option(), "JWT_TRUSTED_ISSUERS");
    assert!(
        err.to_string().contains("unknown field `audiences`"),
        "{err}"
    );
    // A config file (any serde source).
    let from_file: JwtConfig = serde_json::from_value(json!({
        "secret_key": SECRET,
        "jwks_allow_http": true,
        "trusted_issuers": [{"issuer": idp.base, "jwks_url": idp.jwks_url(), "audience": "api", "identity_claim": "email"}],
    }))
    .unwrap();
    let app = builder(from_file).build_async().await.unwrap();
    assert_eq!(
        call(&app, "GET", "/me", &token).await,
        (200, "erin@example.com".into())
    );
}

/// The claims of an RFC 9068 access token.
fn profile_claims(jti: &str) -> Value {
    json!({"aud": "api", "sub": "alice", "client_id": "web-app", "jti": jti})
}

/// What `app` answers the tokens of `idp` with and without the profile's typ and claims.
async fn assert_profile_required(app: &JwtManager, idp: &Provider) {
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+Jwt",
    ] {
        let token = idp.token_typed(typ, profile_claims("p-1"));
        assert_eq!(
            call(app, "GET", "/me", &token).await,
            (200, "alice".into()),
            "{typ}"
        );
    }
    let wrong_typ =
        msg("Invalid token type: an access token has the header typ \"at+jwt\" (RFC 9068)");
    for typ in ["JWT", "application/jwt", "at+jwt; x", "xapplication/at+jwt"] {
        let token = idp.token_typed(typ, profile_claims("p-2"));
        assert_eq!(
            call(app, "GET", "/me", &token).await,
            (422, wrong_typ.clone()),
            "{typ}"
        );
    }
    for missing in ["client_id", "iat", "jti"] {
        let mut payload = json!({"iss": idp.base, "iat": NOW, "exp": NOW + 900});
        for (name, value) in profile_claims("p-3").as_object().unwrap() {
            payload[name] = value.clone();
        }
        payload.as_object_mut().unwrap().remove(missing);
        let token = idp.sign("at+jwt", &payload);
        assert_eq!(
            call(app, "GET", "/me", &token).await,
            (422, msg(&format!("Missing claim: {missing}"))),
            "{missing}"
        );
    }
    let numeric_client = idp.token_typed(
        "at+jwt",
        json!({"aud": "api", "sub": "alice", "client_id": 7, "jti": "p-4"}),
    );
    assert_eq!(
        call(app, "GET", "/me", &numeric_client).await,
        (422, msg("Client ID must be a string"))
    );
}

#[tokio::test]
async fn the_access_token_profile_of_a_trusted_issuer() {
    let idp = provider("rsa_a.pem", "a").await;
    let app = trusting(idp.trusted().audience("api").access_token_profile()).await;
    assert_profile_required(&app, &idp).await;
    // This app's own tokens follow no such profile and need none.
    let own = hs256(claims_with("bob", json!({})));
    assert_eq!(call(&app, "GET", "/me", &own).await, (200, "bob".into()));
    // Without the option, a plain JWT of the issuer is accepted.
    let app = trusting(idp.trusted().audience("api")).await;
    let plain = idp.token(json!({"aud": "api", "sub": "alice", "jti": "p-5"}));
    assert_eq!(
        call(&app, "GET", "/me", &plain).await,
        (200, "alice".into())
    );
    // From a config file.
    let parsed: TrustedIssuer = serde_json::from_value(json!({
        "issuer": idp.base, "jwks_url": idp.jwks_url(), "audience": "api", "access_token_profile": true
    }))
    .unwrap();
    assert!(parsed.access_token_profile);
}

#[tokio::test]
async fn the_access_token_profile_of_the_remote_key_set() {
    let idp = provider("rsa_a.pem", "a").await;
    let config = JwtConfig::from_vars(
        [
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_JWKS_ALLOW_HTTP", "true"),
            ("JWT_DECODE_JWKS_URL", idp.jwks_url().as_str()),
            ("JWT_DECODE_AUDIENCE", "api"),
            ("JWT_DECODE_ACCESS_TOKEN_PROFILE", "true"),
        ],
        &[],
    )
    .unwrap();
    let app = builder(config).build_async().await.unwrap();
    assert_profile_required(&app, &idp).await;
    // This app's own tokens (its own keys) are not held to it.
    let own = hs256(claims_with("bob", json!({"aud": "api"})));
    assert_eq!(call(&app, "GET", "/me", &own).await, (200, "bob".into()));
    assert_eq!(
        app.decode_token(&idp.token_typed("JWT", profile_claims("p-6")))
            .unwrap_err()
            .to_string(),
        "Invalid token type: an access token has the header typ \"at+jwt\" (RFC 9068)"
    );
}
