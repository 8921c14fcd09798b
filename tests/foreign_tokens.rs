//! A trusted issuer's tokens after they are accepted (issue 23, items 10 and 11): "log out
//! everywhere" keys them by issuer and that issuer's identity, never by this app's identity claim;
//! own and foreign users never share a cut-off; a foreign token without its identity is refused;
//! and every trusted issuer names the audience its tokens must be issued to (RFC 8725 §3.9), or
//! opts out explicitly.

use crate::support;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use jwt_runtime::keys::TrustedIssuer;
use jwt_runtime::{jwt_required, Identity, Jwt, JwtConfig, JwtManager, UserRef};
use poem::listener::TcpAcceptor;
use poem::test::TestClient;
use poem::web::Data;
use poem::{get, handler, post, EndpointExt, Response, Route, Server};
use serde_json::{json, Value};
use support::*;

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/keys/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("test key")
}

/// An identity provider on a loopback port: serves one JWK set (RSA key `kid`) and counts the
/// fetches. Lives as long as the test's runtime.
pub(crate) struct Provider {
    pub(crate) base: String,
    kid: &'static str,
    private: &'static str,
    pub(crate) hits: Arc<AtomicUsize>,
}

#[handler]
fn serve_jwks(Data(state): Data<&(Value, Arc<AtomicUsize>)>) -> Response {
    state.1.fetch_add(1, Ordering::SeqCst);
    Response::builder()
        .content_type("application/json")
        .body(state.0.to_string())
}

pub(crate) async fn provider(private: &'static str, kid: &'static str) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // The public JWK of `private`, as a manager signing with it publishes it.
    let publisher = manager(JwtConfig {
        algorithm: "RS256".into(),
        private_key: Some(key(private)),
        public_key: Some(key(&private.replace(".pem", ".pub.pem"))),
        encode_kid: Some(kid.into()),
        ..JwtConfig::default()
    });
    let jwks = serde_json::to_value(publisher.jwks()).unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Route::new()
        .at("/jwks.json", get(serve_jwks))
        .data((jwks, hits.clone()));
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    Provider {
        base,
        kid,
        private,
        hits,
    }
}

impl Provider {
    pub(crate) fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    /// Trusted by its JWK set URL.
    pub(crate) fn trusted(&self) -> TrustedIssuer {
        TrustedIssuer::new(self.base.clone()).jwks_url(self.jwks_url())
    }

    /// A token this provider signed: its `iss`, `iat` now, 15 minutes, and `claims` over them.
    pub(crate) fn token(&self, claims: Value) -> String {
        self.token_typed("JWT", claims)
    }

    /// [`Provider::token`] with the header `typ` given (`at+jwt` for RFC 9068 access tokens).
    pub(crate) fn token_typed(&self, typ: &str, claims: Value) -> String {
        let mut payload = json!({"iss": self.base, "iat": NOW, "exp": NOW + 900});
        for (name, value) in claims.as_object().unwrap() {
            payload[name] = value.clone();
        }
        self.sign(typ, &payload)
    }

    /// `payload` exactly as given, signed by this provider, with the header `typ`.
    pub(crate) fn sign(&self, typ: &str, payload: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.typ = Some(typ.into());
        header.kid = Some(self.kid.into());
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key(self.private).as_bytes()).unwrap();
        jsonwebtoken::encode(&header, payload, &key).unwrap()
    }
}

/// A clock the test moves forward, starting at `NOW`.
fn clock() -> (Arc<AtomicI64>, impl Fn() -> f64 + Send + Sync + 'static) {
    let now = Arc::new(AtomicI64::new(NOW));
    let read = now.clone();
    (now, move || read.load(Ordering::SeqCst) as f64)
}

pub(crate) fn app_config() -> JwtConfig {
    JwtConfig {
        jwks_allow_http: true,
        ..config()
    }
}

#[jwt_required]
#[handler]
async fn me(identity: Identity) -> String {
    identity.to_string()
}

/// "Log out everywhere" as a handler writes it: the request's own identity.
#[jwt_required]
#[handler]
async fn logout_everywhere(identity: Identity, jwt: JwtManager) -> poem::Result<&'static str> {
    jwt.revoke_all_for_user(&identity).await?;
    Ok("logged out everywhere")
}

/// The same from the claims extractor.
#[jwt_required]
#[handler]
async fn logout_everywhere_jwt(token: Jwt, jwt: JwtManager) -> poem::Result<&'static str> {
    jwt.revoke_all_for_user(&token).await?;
    Ok("logged out everywhere")
}

fn routes() -> Route {
    Route::new()
        .at("/me", get(me))
        .at("/logout_everywhere", post(logout_everywhere))
        .at("/logout_everywhere_jwt", post(logout_everywhere_jwt))
}

async fn log_out_everywhere(app: &JwtManager, path: &str, token: &str) {
    TestClient::new(routes().with(app.clone()))
        .post(path)
        .header("Authorization", bearer(token))
        .send()
        .await
        .assert_text("logged out everywhere")
        .await;
}

/// Whether `token` still opens `/me` (else the refusal's message).
async fn me_with(app: &JwtManager, token: &str) -> Result<String, String> {
    let resp = TestClient::new(routes().with(app.clone()))
        .get("/me")
        .header("Authorization", bearer(token))
        .send()
        .await;
    let ok = resp.0.status().is_success();
    let body = resp.0.into_body().into_string().await.unwrap();
    if ok {
        Ok(body)
    } else {
        Err(body)
    }
}

const REVOKED: &str = "{\"msg\":\"Token has been revoked\"}\n";

#[tokio::test]
async fn a_trusted_issuers_user_is_logged_out_everywhere() {
    // The README's identity provider: identity in `email`, while this app's is `sub`.
    let idp = provider("rsa_a.pem", "a").await;
    let (now, read) = clock();
    let app = builder(app_config())
        .clock(read)
        .trust_issuer(idp.trusted().audience("api").identity_claim("email"))
        .build_async()
        .await
        .unwrap();
    let claims = |jti: &str, iat: i64| json!({"aud": "api", "sub": "u-1", "email": "alice@example.com", "jti": jti, "iat": iat});
    let phone = idp.token(claims("f-1", NOW - 60));
    let laptop = idp.token(claims("f-2", NOW - 30));
    let own = hs256(claims_with("u-1", json!({"jti": "o-1"})));
    let own_same_name = hs256(claims_with("alice@example.com", json!({"jti": "o-2"})));
    assert_eq!(me_with(&app, &phone).await, Ok("alice@example.com".into()));
    log_out_everywhere(&app, "/logout_everywhere", &phone).await;
    assert_eq!(me_with(&app, &phone).await, Err(REVOKED.into()));
    assert_eq!(me_with(&app, &laptop).await, Err(REVOKED.into()));
    // Nobody else: not the local user named like the token's `sub`, nor like its email.
    assert_eq!(me_with(&app, &own).await, Ok("u-1".into()));
    assert_eq!(
        me_with(&app, &own_same_name).await,
        Ok("alice@example.com".into())
    );
    // A token issued later (a new login at the provider) works again.
    now.store(NOW + 1, Ordering::SeqCst);
    let later = idp.token(claims("f-3", NOW + 1));
    assert_eq!(me_with(&app, &later).await, Ok("alice@example.com".into()));

    // From `Jwt`, and by issuer and identity without a token (an admin's action).
    let bob = |jti: &str| idp.token(json!({"aud": "api", "email": "bob@example.com", "jti": jti}));
    log_out_everywhere(&app, "/logout_everywhere_jwt", &bob("b-1")).await;
    assert_eq!(me_with(&app, &bob("b-2")).await, Err(REVOKED.into()));
    let erin =
        |jti: &str| idp.token(json!({"aud": "api", "email": "erin@example.com", "jti": jti}));
    assert_eq!(
        me_with(&app, &erin("e-1")).await,
        Ok("erin@example.com".into())
    );
    app.revoke_all_for_user(UserRef::of_issuer(&idp.base, &json!("erin@example.com")))
        .await
        .unwrap();
    assert_eq!(me_with(&app, &erin("e-2")).await, Err(REVOKED.into()));
    // An issuer this manager does not trust is the application's mistake, not a silent no-op.
    let err = app
        .revoke_all_for_user(UserRef::of_issuer("https://elsewhere.example", &json!("x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), jwt_runtime::ErrorKind::Misconfigured);
    assert!(
        err.to_string().contains("https://elsewhere.example"),
        "{err}"
    );

    // This app's own users log out the same way.
    log_out_everywhere(&app, "/logout_everywhere", &own).await;
    assert_eq!(me_with(&app, &own).await, Err(REVOKED.into()));
    assert_eq!(me_with(&app, &later).await, Ok("alice@example.com".into()));
}

#[tokio::test]
async fn own_and_foreign_users_never_share_a_cut_off() {
    // The README's setup: this app's own tokens (identity in `sub`), an identity provider whose
    // identity is `email`, and a partner whose identity is `sub` like this app's.
    let idp = provider("rsa_a.pem", "a").await;
    let partner = provider("rsa_b.pem", "b").await;
    let (now, read) = clock();
    let app = builder(app_config())
        .clock(read)
        .trust_issuer(idp.trusted().audience("api").identity_claim("email"))
        .trust_issuer(partner.trusted().audience("api"))
        .build_async()
        .await
        .unwrap();
    let foreign = idp.token(json!({"aud": "api", "sub": "u-1", "email": "carol", "jti": "f-1"}));
    let partners = partner.token(json!({"aud": "api", "sub": "u-1", "jti": "p-1"}));
    let own_u1 = hs256(claims_with("u-1", json!({"jti": "o-1"})));
    let own_carol = hs256(claims_with("carol", json!({"jti": "o-2"})));
    assert_eq!(me_with(&app, &foreign).await, Ok("carol".into()));
    assert_eq!(me_with(&app, &partners).await, Ok("u-1".into()));

    // A local user whose id is the foreign token's `sub` (and the partner's identity).
    app.revoke_all_for_user(&json!("u-1")).await.unwrap();
    assert_eq!(me_with(&app, &own_u1).await, Err(REVOKED.into()));
    assert_eq!(
        me_with(&app, &foreign).await,
        Ok("carol".into()),
        "a local user's logout revoked a provider's token"
    );
    assert_eq!(
        me_with(&app, &partners).await,
        Ok("u-1".into()),
        "a local user's logout revoked a partner's token with the same identity"
    );
    // A local user whose id is the provider's identity of another person.
    app.revoke_all_for_user(&json!("carol")).await.unwrap();
    assert_eq!(me_with(&app, &own_carol).await, Err(REVOKED.into()));
    assert_eq!(me_with(&app, &foreign).await, Ok("carol".into()));
    // And the other way: the provider's and the partner's users leave the others alone.
    now.store(NOW + 1, Ordering::SeqCst);
    let own_u1 = hs256(claims_with("u-1", json!({"jti": "o-3", "iat": NOW + 1})));
    let partners = partner.token(json!({"aud": "api", "sub": "u-1", "jti": "p-2", "iat": NOW + 1}));
    app.revoke_all_for_user(UserRef::of_issuer(&idp.base, &json!("carol")))
        .await
        .unwrap();
    app.revoke_all_for_user(UserRef::of_issuer(&idp.base, &json!("u-1")))
        .await
        .unwrap();
    assert_eq!(me_with(&app, &foreign).await, Err(REVOKED.into()));
    assert_eq!(me_with(&app, &own_u1).await, Ok("u-1".into()));
    assert_eq!(me_with(&app, &partners).await, Ok("u-1".into()));
    app.revoke_all_for_user(UserRef::of_issuer(&partner.base, &json!("u-1")))
        .await
        .unwrap();
    assert_eq!(me_with(&app, &partners).await, Err(REVOKED.into()));
    assert_eq!(me_with(&app, &own_u1).await, Ok("u-1".into()));
}

/// The remote key set's users (`JWT_DECODE_JWKS_URL`) are the provider's, filed under the set's
/// issuer (the token's verified `iss` under `JWT_DECODE_ISSUER`, else the JWK set's URL): the
/// provider's `alice` and this app's `alice` never share a "log out everywhere" cut-off.
#[tokio::test]
async fn a_remote_sets_users_are_filed_apart_from_local_ones() {
    let idp = provider("rsa_a.pem", "a").await;
    for with_issuer in [true, false] {
        let (now, read) = clock();
        let config = JwtConfig {
            decode_jwks_url: Some(idp.jwks_url()),
            decode_issuer: with_issuer.then(|| vec![idp.base.clone()]),
            decode_audience: Some(vec!["api".into()]),
            ..app_config()
        };
        let app = builder(config).clock(read).build_async().await.unwrap();
        let filed_under = if with_issuer {
            idp.base.clone()
        } else {
            idp.jwks_url()
        };
        let theirs = |jti: &str| idp.token(json!({"aud": "api", "sub": "alice", "jti": jti}));
        let ours = |jti: &str| {
            hs256(claims_with(
                "alice",
                json!({"aud": "api", "iss": idp.base, "jti": jti, "iat": now.load(Ordering::SeqCst)}),
            ))
        };
        assert_eq!(me_with(&app, &theirs("r-1")).await, Ok("alice".into()));
        assert_eq!(me_with(&app, &ours("o-1")).await, Ok("alice".into()));

        // The provider's alice logs out everywhere: this app's alice stays.
        log_out_everywhere(&app, "/logout_everywhere", &theirs("r-1")).await;
        assert_eq!(me_with(&app, &theirs("r-2")).await, Err(REVOKED.into()));
        assert_eq!(
            me_with(&app, &ours("o-1")).await,
            Ok("alice".into()),
            "a provider's logout revoked a local user's token ({filed_under})"
        );
        // This app's alice logs out everywhere: a new provider login stays.
        now.store(NOW + 1, Ordering::SeqCst);
        let later = idp.token(json!({"aud": "api", "sub": "alice", "jti": "r-3", "iat": NOW + 1}));
        assert_eq!(me_with(&app, &later).await, Ok("alice".into()));
        app.revoke_all_for_user(&json!("alice")).await.unwrap();
        assert_eq!(me_with(&app, &ours("o-2")).await, Err(REVOKED.into()));
        assert_eq!(
            me_with(&app, &later).await,
            Ok("alice".into()),
            "a local user's logout revoked a provider's token ({filed_under})"
        );
        // The provider's user by name, without a token: under the set's issuer (or URL).
        app.revoke_all_for_user(UserRef::of_issuer(&filed_under, &json!("alice")))
            .await
            .unwrap();
        assert_eq!(me_with(&app, &later).await, Err(REVOKED.into()));
        now.store(NOW + 2, Ordering::SeqCst);
        assert_eq!(me_with(&app, &ours("o-3")).await, Ok("alice".into()));
        // Any other name is not one of this manager's issuers.
        let other = if with_issuer {
            idp.jwks_url()
        } else {
            idp.base.clone()
        };
        let err = app
            .revoke_all_for_user(UserRef::of_issuer(&other, &json!("alice")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), jwt_runtime::ErrorKind::Misconfigured);
    }
}

#[tokio::test]
async fn a_foreign_token_is_never_filed_under_null() {
    let idp = provider("rsa_a.pem", "a").await;
    let app = builder(app_config())
        .trust_issuer(idp.trusted().audience("api").identity_claim("email"))
        .build_async()
        .await
        .unwrap();
    // No `sub`: this app's identity claim is absent from it.
    let foreign = idp.token(json!({"aud": "api", "email": "dave@example.com", "jti": "f-2"}));
    assert_eq!(me_with(&app, &foreign).await, Ok("dave@example.com".into()));
    app.revoke_all_for_user(&Value::Null).await.unwrap();
    assert_eq!(
        me_with(&app, &foreign).await,
        Ok("dave@example.com".into()),
        "the token was filed under \"null\""
    );
}

#[tokio::test]
async fn a_foreign_token_without_its_identity_claim_is_refused() {
    let idp = provider("rsa_a.pem", "a").await;
    let app = builder(app_config())
        .trust_issuer(idp.trusted().audience("api").identity_claim("email"))
        .build_async()
        .await
        .unwrap();
    let missing = "{\"msg\":\"Missing claim: email\"}\n";
    let absent = idp.token(json!({"aud": "api", "sub": "u-1", "jti": "f-3"}));
    assert_eq!(me_with(&app, &absent).await, Err(missing.into()));
    // A null identity names nobody: every such user would share one cut-off (and one identity).
    let null = idp.token(json!({"aud": "api", "sub": "u-1", "email": null, "jti": "f-4"}));
    assert_eq!(me_with(&app, &null).await, Err(missing.into()));
    // What this app's own tokens answer without their identity claim (the reference's message).
    let own = hs256(claims_with("x", json!({"sub": null})));
    assert_eq!(
        me_with(&app, &own).await,
        Err("{\"msg\":\"Missing claim: sub\"}\n".into())
    );
    let resp = TestClient::new(routes().with(app.clone()))
        .get("/me")
        .header("Authorization", bearer(&absent))
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY);
}

/// The remote key set's tokens name a provider's user too: a `null` identity names nobody there
/// and is refused, as a trusted issuer's is.
#[tokio::test]
async fn a_remote_sets_token_with_a_null_identity_is_refused() {
    let idp = provider("rsa_a.pem", "a").await;
    let config = JwtConfig {
        decode_jwks_url: Some(idp.jwks_url()),
        decode_audience: Some(vec!["api".into()]),
        verify_sub: false,
        ..app_config()
    };
    let app = builder(config).build_async().await.unwrap();
    let null = idp.token(json!({"aud": "api", "sub": null, "jti": "r-1"}));
    assert_eq!(
        me_with(&app, &null).await,
        Err("{\"msg\":\"Missing claim: sub\"}\n".into())
    );
}

// ---- the stores keep the key as it is ----

/// A trusted issuer's user logged out on one instance, checked on another and on one started
/// afterwards, each with a store from `store` (over the same data).
async fn logout_across<B, F>(store: impl Fn() -> F)
where
    B: jwt_runtime::stores::Blocklist,
    F: std::future::Future<Output = B>,
{
    let idp = provider("rsa_a.pem", "a").await;
    let instance = |store: B| {
        builder(app_config())
            .blocklist(store)
            .trust_issuer(idp.trusted().audience("api").identity_claim("email"))
            .build_async()
    };
    let a = instance(store().await).await.unwrap();
    let b = instance(store().await).await.unwrap();
    // An identity that spells a key, and is not ASCII.
    let email = "iss:[\"x\"] ö";
    let foreign = idp.token(json!({"aud": "api", "sub": "u-1", "email": email, "jti": "f-9"}));
    let own = hs256(claims_with("u-1", json!({"jti": "o-9"})));
    assert_eq!(me_with(&b, &foreign).await, Ok(email.into()));
    log_out_everywhere(&a, "/logout_everywhere", &foreign).await;
    // The other instance hears of it (Redis: through its subscription, within a moment).
    let mut answer = me_with(&b, &foreign).await;
    for _ in 0..200 {
        if answer.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        answer = me_with(&b, &foreign).await;
    }
    assert_eq!(answer, Err(REVOKED.into()), "the other instance");
    // One started later reads it from the store; this app's own user is untouched.
    let c = instance(store().await).await.unwrap();
    assert_eq!(
        me_with(&c, &foreign).await,
        Err(REVOKED.into()),
        "a later instance"
    );
    assert_eq!(me_with(&c, &own).await, Ok("u-1".into()));
}

#[tokio::test]
async fn a_foreign_users_logout_in_a_sql_store() {
    let path = std::env::temp_dir().join(format!("{}.db", unique("foreign")));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let store = jwt_runtime::stores::SqlBlocklist::connect(&url)
        .await
        .unwrap();
    logout_across(|| async { store.clone() }).await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn a_foreign_users_logout_in_postgres() {
    require_service("PostgreSQL", "127.0.0.1:5432");
    let url = std::env::var("JWT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let table = unique("foreign");
    logout_across(|| async {
        jwt_runtime::stores::SqlBlocklist::connect_with_table(&url, &table)
            .await
            .expect("connect to PostgreSQL")
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn a_foreign_users_logout_reaches_every_redis_instance() {
    use jwt_runtime::stores::{RedisBlocklist, RedisBlocklistOptions};
    require_service("Redis", "127.0.0.1:6379");
    let prefix = format!("{}:", unique("jwt_foreign"));
    logout_across(|| async {
        let options = RedisBlocklistOptions::default().prefix(prefix.clone());
        let store = RedisBlocklist::connect_with("redis://127.0.0.1:6379", options)
            .await
            .expect("connect to Redis");
        assert!(
            store
                .wait_until_current(std::time::Duration::from_secs(5))
                .await
        );
        store
    })
    .await;
}

// ---- audience (item 11) ----

#[tokio::test]
async fn a_trusted_issuer_needs_an_audience() {
    let idp = provider("rsa_a.pem", "a").await;
    let err = builder(app_config())
        .trust_issuer(idp.trusted())
        .build_async()
        .await
        .expect_err("an issuer without an audience must not start")
        .to_string();
    assert!(
        err.contains(&format!("trusted issuer \"{}\"", idp.base)),
        "{err}"
    );
    assert!(err.contains("audience"), "{err}");
    assert!(err.contains("any_audience"), "{err}");
    assert_eq!(
        idp.hits.load(Ordering::SeqCst),
        0,
        "checked before any fetch"
    );
}

#[tokio::test]
async fn an_issuers_audience_rules_and_its_explicit_opt_out() {
    let idp = provider("rsa_a.pem", "a").await;
    let start = |issuer: TrustedIssuer| builder(app_config()).trust_issuer(issuer).build_async();
    // With an audience: a token the provider issued to another of its clients is refused.
    let app = start(idp.trusted().audience("api")).await.unwrap();
    let ours = idp.token(json!({"aud": "api", "sub": "alice", "jti": "a-1"}));
    let theirs = idp.token(json!({"aud": "other-client", "sub": "alice", "jti": "a-2"}));
    let listed = idp.token(json!({"aud": ["other-client", "api"], "sub": "alice", "jti": "a-3"}));
    let none = idp.token(json!({"sub": "alice", "jti": "a-4"}));
    assert_eq!(me_with(&app, &ours).await, Ok("alice".into()));
    assert_eq!(me_with(&app, &listed).await, Ok("alice".into()));
    assert_eq!(
        me_with(&app, &theirs).await,
        Err("{\"msg\":\"Audience doesn't match\"}\n".into())
    );
    assert_eq!(
        me_with(&app, &none).await,
        Err("{\"msg\":\"Token is missing the \\\"aud\\\" claim\"}\n".into())
    );
    // The explicit opt-out accepts every audience, and none.
    let app = start(idp.trusted().any_audience()).await.unwrap();
    for token in [&ours, &theirs, &none] {
        assert_eq!(me_with(&app, token).await, Ok("alice".into()));
    }
    // Both, or an empty audience: startup errors naming the issuer.
    let both = start(idp.trusted().audience("api").any_audience())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        both,
        format!(
            "trusted issuer \"{}\" sets both `audience` and `any_audience`: keep one",
            idp.base
        )
    );
    let empty = start(idp.trusted().audience(" "))
        .await
        .unwrap_err()
        .to_string();
    assert!(empty.contains("has an empty audience"), "{empty}");
    // From a config file: the field, and its absence.
    let parsed: TrustedIssuer = serde_json::from_value(
        json!({"issuer": idp.base, "jwks_url": idp.jwks_url(), "any_audience": true}),
    )
    .unwrap();
    assert!(start(parsed).await.is_ok());
    let parsed: TrustedIssuer =
        serde_json::from_value(json!({"issuer": idp.base, "jwks_url": idp.jwks_url()})).unwrap();
    assert!(start(parsed).await.is_err());
}

#[tokio::test]
async fn every_issuer_is_checked_before_any_is_fetched() {
    let good = provider("rsa_a.pem", "a").await;
    let bad = provider("rsa_b.pem", "b").await;
    let err = builder(app_config())
        .trust_issuer(good.trusted().audience("api"))
        .trust_issuer(bad.trusted())
        .build_async()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "trusted issuer \"{}\" needs an audience",
            bad.base
        )),
        "{err}"
    );
    assert_eq!(good.hits.load(Ordering::SeqCst), 0);
    assert_eq!(bad.hits.load(Ordering::SeqCst), 0);
}
