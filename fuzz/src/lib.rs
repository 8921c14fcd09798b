//! What the fuzz targets share: the managers (built once, with a frozen clock so that seed tokens
//! never expire), the independent claim rules the oracles check accepted tokens against, and the
//! invariants of one run of the request pipeline.

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_runtime::{
    verify_jwt_in_request, JsonObject, JwtConfig, JwtManager, Location, VerifiedJwt, VerifyOptions,
};
use poem::http::{Method, StatusCode};
use poem::Request;
use serde_json::Value;

/// The frozen time of every manager (2023-11-14T22:13:20Z). Seed tokens are minted against it.
pub const NOW: f64 = 1_700_000_000.0;
/// The HS* secret of every HMAC manager (fuzz/seeds.py signs the seed tokens with it).
pub const SECRET: &str = "fuzz-secret-of-at-least-32-bytes!!!!";
/// The JSON body limit of the `locate` manager: small, so that the fuzzer reaches the 413 path.
pub const JSON_BODY_LIMIT: usize = 512;

pub const RSA_PRIVATE: &str = include_str!("../../tests/keys/rsa_a.pem");
pub const RSA_PUBLIC: &str = include_str!("../../tests/keys/rsa_a.pub.pem");
pub const EC_PRIVATE: &str = include_str!("../../tests/keys/ec256.pem");
pub const EC_PUBLIC: &str = include_str!("../../tests/keys/ec256.pub.pem");

/// Runs a future to completion on this thread (nothing in jwt-runtime's default features needs
/// a reactor: the memory store and Poem's in-memory bodies are plain futures).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// `JWT_FUZZ_DEBUG=1`: the targets print what they decided (for checking that seeds reach the
/// deep paths: `cargo +nightly fuzz run <target> fuzz/corpus/<target> -- -runs=0`).
pub fn debug() -> bool {
    static D: OnceLock<bool> = OnceLock::new();
    *D.get_or_init(|| std::env::var_os("JWT_FUZZ_DEBUG").is_some())
}

fn build(config: JwtConfig) -> JwtManager {
    JwtManager::builder(config)
        .clock(|| NOW)
        .build()
        .expect("the fuzz config is valid")
}

fn hmac_config() -> JwtConfig {
    JwtConfig::default().with_secret(SECRET)
}

/// HS256, every token location, a small JSON body limit: the `locate` target's manager.
pub fn locate_manager() -> &'static JwtManager {
    static M: OnceLock<JwtManager> = OnceLock::new();
    M.get_or_init(|| {
        build(JwtConfig {
            token_location: ["headers", "cookies", "query_string", "json"]
                .map(String::from)
                .to_vec(),
            json_body_limit: JSON_BODY_LIMIT,
            ..hmac_config()
        })
    })
}

/// [`locate_manager`] as a [`Subject`].
pub fn locate_subject() -> &'static Subject {
    static S: OnceLock<Subject> = OnceLock::new();
    S.get_or_init(|| Subject {
        name: "locate HS256",
        manager: locate_manager().clone(),
        allowed: &["HS256"],
        leeway: 0.0,
        audience: None,
        issuer: None,
    })
}

/// A manager under test, with what its oracle needs to know about its config.
pub struct Subject {
    pub name: &'static str,
    pub manager: JwtManager,
    /// Algorithms a token may name (`JWT_ALGORITHM` plus `JWT_DECODE_ALGORITHMS`).
    pub allowed: &'static [&'static str],
    pub leeway: f64,
    pub audience: Option<&'static [&'static str]>,
    pub issuer: Option<&'static [&'static str]>,
}

/// The `jws` target's managers: HMAC (one and three algorithms), RSA and EC public keys.
pub fn jws_subjects() -> &'static [Subject] {
    static S: OnceLock<Vec<Subject>> = OnceLock::new();
    S.get_or_init(|| {
        let asym = |alg: &str, private: &str, public: &str| JwtConfig {
            algorithm: alg.into(),
            private_key: Some(private.into()),
            public_key: Some(public.into()),
            ..JwtConfig::default()
        };
        vec![
            Subject {
                name: "HS256",
                manager: build(hmac_config()),
                allowed: &["HS256"],
                leeway: 0.0,
                audience: None,
                issuer: None,
            },
            Subject {
                name: "HS256+HS384+HS512",
                manager: build(JwtConfig {
                    decode_algorithms: Some(vec!["HS384".into(), "HS512".into()]),
                    ..hmac_config()
                }),
                allowed: &["HS256", "HS384", "HS512"],
                leeway: 0.0,
                audience: None,
                issuer: None,
            },
            Subject {
                name: "RS256",
                manager: build(asym("RS256", RSA_PRIVATE, RSA_PUBLIC)),
                allowed: &["RS256"],
                leeway: 0.0,
                audience: None,
                issuer: None,
            },
            Subject {
                name: "ES256",
                manager: build(asym("ES256", EC_PRIVATE, EC_PUBLIC)),
                allowed: &["ES256"],
                leeway: 0.0,
                audience: None,
                issuer: None,
            },
        ]
    })
}

/// The `claims` target's managers: HS256 with the defaults, and HS256 with a leeway, audiences
/// and issuers.
pub fn claims_subjects() -> &'static [Subject] {
    static S: OnceLock<Vec<Subject>> = OnceLock::new();
    S.get_or_init(|| {
        vec![
            Subject {
                name: "HS256 defaults",
                manager: build(hmac_config()),
                allowed: &["HS256"],
                leeway: 0.0,
                audience: None,
                issuer: None,
            },
            Subject {
                name: "HS256 leeway/aud/iss",
                manager: build(JwtConfig {
                    decode_leeway: 30,
                    decode_audience: Some(vec!["api".into(), "other".into()]),
                    decode_issuer: Some(vec!["https://issuer.example".into()]),
                    ..hmac_config()
                }),
                allowed: &["HS256"],
                leeway: 30.0,
                audience: Some(&["api", "other"]),
                issuer: Some(&["https://issuer.example"]),
            },
        ]
    })
}

/// A NumericDate as an accepted token may carry it: a finite JSON number.
fn date(claims: &JsonObject, name: &str) -> Option<f64> {
    claims.get(name).map(|v| {
        let f = v
            .as_f64()
            .unwrap_or_else(|| panic!("accepted a token whose {name} is not a number: {v}"));
        assert!(f.is_finite(), "accepted a token whose {name} is {f}");
        f.trunc()
    })
}

/// Every rule an accepted (and not expired) token's claims obey, checked from the claims alone.
pub fn check_accepted_claims(s: &Subject, claims: &JsonObject) {
    if let Some(iat) = date(claims, "iat") {
        assert!(
            iat <= NOW + s.leeway,
            "{}: accepted iat {iat} in the future",
            s.name
        );
    }
    if let Some(nbf) = date(claims, "nbf") {
        assert!(
            nbf <= NOW + s.leeway,
            "{}: accepted nbf {nbf} in the future",
            s.name
        );
    }
    if let Some(exp) = date(claims, "exp") {
        assert!(
            exp > NOW - s.leeway,
            "{}: accepted expired exp {exp}",
            s.name
        );
    }
    let sub = claims.get("sub").expect("accepted a token without sub");
    assert!(
        sub.is_string(),
        "{}: accepted a non-string sub {sub}",
        s.name
    );
    if let Some(jti) = claims.get("jti") {
        assert!(
            jti.is_string(),
            "{}: accepted a non-string jti {jti}",
            s.name
        );
    }
    if let Some(issuers) = s.issuer {
        let iss = claims.get("iss").and_then(Value::as_str);
        assert!(
            iss.is_some_and(|i| issuers.contains(&i)),
            "{}: accepted iss {:?}",
            s.name,
            claims.get("iss")
        );
    }
    if let Some(audiences) = s.audience {
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => audiences.contains(&a.as_str()),
            Some(Value::Array(items)) => {
                items.iter().all(Value::is_string)
                    && items
                        .iter()
                        .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a)))
            }
            _ => false,
        };
        assert!(ok, "{}: accepted aud {:?}", s.name, claims.get("aud"));
    }
}

/// The JOSE header of a compact token (the oracle's own parse): 3 segments, the first a JSON
/// object.
pub fn header_of(token: &str) -> JsonObject {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(
        parts.len(),
        3,
        "accepted a token without exactly 3 segments: {token:?}"
    );
    let bytes = URL_SAFE_NO_PAD
        .decode(parts[0])
        .expect("accepted a token whose header is not base64url");
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => map,
        other => panic!("accepted a token whose header is not an object: {other:?}"),
    }
}

/// The request-pipeline options a selector byte picks.
pub fn options_of(bits: u8) -> VerifyOptions {
    let mut o = VerifyOptions::new();
    if bits & 0x01 != 0 {
        o = o.optional();
    }
    if bits & 0x02 != 0 {
        o = o.fresh();
    }
    if bits & 0x04 != 0 {
        o = o.refresh();
    }
    if bits & 0x08 != 0 {
        o = o.verify_type(false);
    }
    if bits & 0x10 != 0 {
        o = o.skip_revocation_check();
    }
    o
}

pub const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::HEAD,
];

fn is_fresh(claims: &JsonObject) -> bool {
    match claims.get("fresh") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f >= NOW),
        _ => false,
    }
}

/// What the caller knows about the request, for the pipeline invariants.
pub struct Sent<'a> {
    pub method: Method,
    pub bits: u8,
    /// Every string the token could have been read from (the oracle's own extraction).
    pub candidates: Vec<String>,
    /// The `X-CSRF-TOKEN` header sent, if any.
    pub csrf_header: Option<&'a str>,
}

/// Runs `verify_jwt_in_request` on `req` (with `manager` installed as `.with(manager)` does) and
/// checks: never a 5xx for anything a client sends; OPTIONS on a required route is 204; a
/// verified token is one `decode_token` accepts from the request, of the route's type, fresh
/// when required, and a cookie token on a CSRF method came with its double-submit value.
pub fn check_pipeline(s: &Subject, mut req: Request, sent: &Sent<'_>) -> Option<Arc<VerifiedJwt>> {
    req.extensions_mut().insert(s.manager.clone());
    let options = options_of(sent.bits);
    let result = block_on(verify_jwt_in_request(&mut req, &options));
    if debug() {
        match &result {
            Ok(t) => eprintln!(
                "pipeline {}: ok {:?}",
                s.name,
                t.as_ref().map(|t| t.claims())
            ),
            Err(e) => eprintln!("pipeline {}: {} {e}", s.name, e.status()),
        }
    }
    match result {
        Err(e) => {
            let status = e.status();
            assert!(
                !status.is_server_error(),
                "{}: request input answered {status}: {e}",
                s.name
            );
            if sent.method == Method::OPTIONS && !options.is_optional() {
                assert_eq!(status, StatusCode::NO_CONTENT);
            }
            None
        }
        Ok(None) => {
            assert!(
                options.is_optional(),
                "no token and no refusal on a required route"
            );
            None
        }
        Ok(Some(token)) => {
            let claims = token.claims();
            check_accepted_claims(s, claims);
            assert!(
                sent.candidates
                    .iter()
                    .any(|c| s.manager.decode_token(c).ok().as_ref() == Some(claims)),
                "{}: verified claims {claims:?} that decode_token accepts from no token in the request",
                s.name
            );
            let header = token.header();
            let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
            assert!(s.allowed.contains(&alg), "verified alg {alg:?}");
            if sent.bits & 0x08 == 0 {
                let is_refresh = token.token_type() == "refresh";
                assert_eq!(
                    is_refresh,
                    sent.bits & 0x04 != 0,
                    "{}: token type {:?} on a {} route",
                    s.name,
                    token.token_type(),
                    if sent.bits & 0x04 != 0 {
                        "refresh"
                    } else {
                        "access"
                    }
                );
            }
            if options.is_fresh() {
                assert!(
                    is_fresh(claims),
                    "a non-fresh token passed a fresh route: {claims:?}"
                );
            }
            if sent.bits & 0x10 == 0 {
                assert!(
                    claims.get("jti").and_then(Value::as_str).is_some(),
                    "a token without a string jti passed the revocation check"
                );
            }
            let csrf_method =
                [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&sent.method);
            if token.location() == Location::Cookies && csrf_method {
                let expected = claims.get("csrf").and_then(Value::as_str);
                assert!(
                    expected.is_some() && expected == sent.csrf_header,
                    "a cookie token passed a {} without its CSRF value",
                    sent.method
                );
            }
            Some(token)
        }
    }
}

/// Every run of token characters (base64url and '.') with two or more dots in `text`.
pub fn token_runs(text: &str, out: &mut Vec<String>) {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    for run in text.split(|c: char| !is_token_char(c)) {
        if run.matches('.').count() >= 2 {
            out.push(run.to_string());
        }
    }
}

/// The `locate` manager with implicit refresh (cookie access tokens expiring within 1000 s are
/// replaced on the response), behind a real `#[jwt_required]` route.
pub fn route_manager() -> &'static JwtManager {
    static M: OnceLock<JwtManager> = OnceLock::new();
    M.get_or_init(|| {
        let mut config = locate_manager().config().clone();
        config.secret_key = Some(SECRET.into());
        config.implicit_refresh_window = Some(1000);
        build(config)
    })
}

#[jwt_runtime::jwt_required]
#[poem::handler]
async fn protected(identity: jwt_runtime::Identity) -> String {
    identity.value().to_string()
}

fn route() -> &'static poem::endpoint::BoxEndpoint<'static, poem::Response> {
    use poem::EndpointExt;
    static R: OnceLock<poem::endpoint::BoxEndpoint<'static, poem::Response>> = OnceLock::new();
    R.get_or_init(|| {
        poem::Route::new()
            .at("/protected", protected)
            .with(route_manager().clone())
            .map_to_response()
            .boxed()
    })
}

/// The same request through a `#[jwt_required]` route (the full pipeline: macro, extractors,
/// implicit refresh): never a 5xx; a 200 exactly when `verify_jwt_in_request` with the default
/// options accepted (`direct`, when the options were the default ones), and only for a token in
/// the request that `decode_token` accepts; an implicitly refreshed cookie holds a valid,
/// non-fresh access token for the same identity.
pub fn check_route(req: Request, sent: &Sent<'_>, direct: Option<bool>) {
    use poem::Endpoint;
    let resp = block_on(route().get_response(req));
    let status = resp.status();
    if debug() {
        eprintln!("route: {status}");
    }
    assert!(
        !status.is_server_error(),
        "the protected route answered {status}"
    );
    if let Some(accepted) = direct {
        if sent.method != Method::OPTIONS {
            assert_eq!(
                status == StatusCode::OK,
                accepted,
                "the route answered {status}, verify_jwt_in_request accepted: {accepted}"
            );
        }
    }
    if status != StatusCode::OK {
        return;
    }
    let manager = route_manager();
    assert!(
        sent.candidates
            .iter()
            .any(|c| manager.decode_token(c).is_ok()),
        "the protected route answered 200 without a token decode_token accepts"
    );
    let identity: Option<Value> = resp
        .headers()
        .get_all(poem::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| line.strip_prefix("access_token_cookie="))
        .map(|rest| {
            let new_token = rest.split(';').next().unwrap_or("");
            let claims = manager.decode_token(new_token).unwrap_or_else(|e| {
                panic!("implicit refresh set a token decode_token refuses: {e}")
            });
            assert_eq!(claims.get("type").and_then(Value::as_str), Some("access"));
            assert_eq!(claims.get("fresh"), Some(&Value::Bool(false)));
            claims.get("sub").cloned().unwrap_or_default()
        });
    if debug() {
        eprintln!("route: refreshed: {}", identity.is_some());
    }
    if let Some(new_identity) = identity {
        let body = block_on(resp.into_body().into_string()).unwrap_or_default();
        assert_eq!(
            serde_json::from_str::<Value>(&body).ok(),
            Some(new_identity),
            "implicit refresh changed the identity"
        );
    }
}
