//! The server of the load benchmark (`benches/load/run.sh`): one process serving the same
//! handler three ways, so a load generator can compare them side by side in one run.
//!
//! - `GET /unprotected`: no guard (the floor);
//! - `GET /hand_written`: the check users write today with `jsonwebtoken::decode`;
//! - `GET /protected`: `#[jwt_required]` (every check, the memory revocation store);
//! - `POST /login`: mints an access token for the load generator;
//! - `POST /revoke`: revokes the bearer token (for the scale-out run, `benches/load/scale_out.sh`).
//! - `GET /dpop`: the same handler under `#[jwt_required(dpop)]` (a DPoP-bound token and a fresh
//!   proof on every request; `benches/load/dpop.sh`), and `POST /login_dpop`: the real login of a
//!   DPoP client, taking a `DpopProof` and minting an access token bound to its key. Proofs name
//!   `JWT_DPOP_PUBLIC_URL` (the script sets `http://127.0.0.1:<port>`).
//!
//! Every option comes from the environment (`JWT_*`), so the script can switch the verified-token
//! cache off (`JWT_VERIFIED_TOKEN_CACHE_SIZE=0`) to measure first-seen tokens. `LOG=debug` installs
//! a tracing subscriber writing every accepted token to stdout (what the examples' default filter
//! does), to measure what logging costs. `STORE=redis` revokes through a `RedisBlocklist` at
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) instead of the memory store: each request is then
//! answered from the instance's local mirror of Redis; `REDIS_PREFIX` makes several instances
//! share one blocklist (by default each has its own). `INSTANCE=name` adds an `x-instance: name`
//! header to every answer, so a client behind a load balancer sees which instance answered.
//!
//! `REMOTE=1` adds an identity provider (`benches/load/remote.sh`): the process also serves a JWK
//! set (an RSA and a P-256 key) on a loopback port of its own, and the manager trusts it
//! (`JWT_DECODE_JWKS_URL`, RS256 and ES256 allowed), fetching it once at startup as a real service
//! would. `GET /remote_rs256` and `GET /remote_es256` are the same `#[jwt_required]` handler as
//! `/protected`, named apart so the load generator can send each its own token: `POST
//! /login_rs256` and `POST /login_es256` mint one with the provider's key.

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use jwt_runtime::{jwt_required, DpopProof, Identity, JwtConfig, JwtManager};
use poem::http::{header, HeaderValue, StatusCode};
use poem::listener::TcpListener;
use poem::{get, handler, post, Endpoint, EndpointExt, Request, Route, Server};
use serde_json::Value;

#[handler]
async fn unprotected() -> String {
    "alice".to_string()
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.as_str().unwrap_or_default().to_string()
}

/// `protected` behind DPoP (RFC 9449): a bound token and one proof per request.
#[jwt_required(dpop)]
#[handler]
async fn protected_dpop(identity: Identity) -> String {
    identity.as_str().unwrap_or_default().to_string()
}

#[handler]
async fn hand_written(req: &Request, key: poem::web::Data<&DecodingKey>) -> poem::Result<String> {
    let unauthorized = || poem::Error::from_status(StatusCode::UNAUTHORIZED);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let data = decode::<Value>(token, key.0, &validation).map_err(|_| unauthorized())?;
    data.claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(unauthorized)
}

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<String> {
    Ok(jwt
        .create_access_token("alice")
        .expires(jwt_runtime::Expiry::minutes(60))
        .await?)
}

/// The login of a DPoP client: the token is bound to the key of the request's proof.
#[handler]
async fn login_dpop(jwt: JwtManager, proof: DpopProof) -> poem::Result<String> {
    Ok(jwt
        .create_access_token("alice")
        .expires(jwt_runtime::Expiry::minutes(60))
        .bind(&proof)
        .await?)
}

/// Mints an access token with a provider's key (404 without `REMOTE=1`).
fn mint(provider: Option<JwtManager>) -> impl Endpoint<Output = poem::Response> {
    poem::endpoint::make(move |_| {
        let provider = provider.clone();
        async move {
            let Some(provider) = provider else {
                return Err(poem::Error::from_status(StatusCode::NOT_FOUND));
            };
            let token = provider
                .create_access_token("alice")
                .expires(jwt_runtime::Expiry::minutes(60))
                .await?;
            Ok::<_, poem::Error>(token)
        }
    })
    .map_to_response()
}

#[handler]
async fn revoke(req: &Request, jwt: JwtManager) -> poem::Result<&'static str> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| poem::Error::from_status(StatusCode::BAD_REQUEST))?;
    jwt.revoke_encoded(token).await?;
    Ok("revoked")
}

/// The provider's keys (the tests' keys), each signing with its own `kid`.
fn provider(
    alg: &str,
    private: &str,
    public: &str,
    kid: &str,
) -> Result<JwtManager, jwt_runtime::ConfigError> {
    JwtManager::new(JwtConfig {
        algorithm: alg.into(),
        private_key: Some(private.into()),
        public_key: Some(public.into()),
        encode_kid: Some(kid.into()),
        ..JwtConfig::default()
    })
}

/// Serves the providers' public keys as one JWK set on a free loopback port; gives its URL.
async fn serve_jwks(providers: &[&JwtManager]) -> std::io::Result<String> {
    let keys: Vec<Value> = providers
        .iter()
        .flat_map(|p| p.jwks().keys)
        .filter_map(|k| serde_json::to_value(k).ok())
        .collect();
    let body = serde_json::json!({ "keys": keys }).to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/jwks.json", listener.local_addr()?);
    let app = Route::new().at(
        "/jwks.json",
        get(poem::endpoint::make_sync(move |_| body.clone())),
    );
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)?;
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    Ok(url)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var("LOG").as_deref() == Ok("debug") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,jwt_runtime=debug"))
            .init();
    }
    let mut config = JwtConfig::from_env()?;
    let secret = config.secret_key.clone().unwrap_or_default();
    let remote = std::env::var("REMOTE").as_deref() == Ok("1");
    let mut providers = Vec::new();
    if remote {
        const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/");
        let read = |name: &str| std::fs::read_to_string(format!("{KEYS}{name}"));
        let rs256 = provider("RS256", &read("rsa_a.pem")?, &read("rsa_a.pub.pem")?, "rsa")?;
        let es256 = provider("ES256", &read("ec256.pem")?, &read("ec256.pub.pem")?, "ec")?;
        config.decode_jwks_url = Some(serve_jwks(&[&rs256, &es256]).await?);
        config.jwks_allow_http = true;
        config.decode_algorithms = Some(vec!["HS256".into(), "RS256".into(), "ES256".into()]);
        providers = vec![rs256, es256];
    }
    let jwt = match std::env::var("STORE").as_deref() {
        Ok("redis") => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let prefix = std::env::var("REDIS_PREFIX")
                .unwrap_or_else(|_| format!("jwt-load-{}:", std::process::id()));
            let options = jwt_runtime::stores::RedisBlocklistOptions::default().prefix(prefix);
            let store = jwt_runtime::stores::RedisBlocklist::connect_with(&url, options).await?;
            JwtManager::builder(config)
                .blocklist(store)
                .build_async()
                .await?
        }
        _ => JwtManager::builder(config).build_async().await?,
    };
    let instance = std::env::var("INSTANCE").ok();
    let port = std::env::var("PORT").unwrap_or_else(|_| "8088".into());
    let app = Route::new()
        .at("/unprotected", get(unprotected))
        .at("/hand_written", get(hand_written))
        .at("/protected", get(protected))
        .at("/login", post(login))
        .at("/revoke", post(revoke))
        .at("/dpop", get(protected_dpop))
        .at("/login_dpop", post(login_dpop))
        .at("/remote_rs256", get(protected))
        .at("/remote_es256", get(protected))
        .at("/login_rs256", post(mint(providers.first().cloned())))
        .at("/login_es256", post(mint(providers.get(1).cloned())))
        .with(jwt)
        .data(DecodingKey::from_secret(secret.as_bytes()));
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"));
    match instance {
        // Every answer, refusals included, says which instance gave it.
        Some(name) => {
            let value = HeaderValue::from_str(&name)?;
            let app = app.around(move |ep, req| {
                let value = value.clone();
                async move {
                    let mut resp = ep.get_response(req).await;
                    resp.headers_mut().insert("x-instance", value);
                    Ok(resp)
                }
            });
            Server::new(listener).run(app).await?;
        }
        None => Server::new(listener).run(app).await?,
    }
    Ok(())
}
