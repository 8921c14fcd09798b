//! Every error of the header path, with the reference's status and message byte for byte.

use crate::support;

use jwt_runtime::{jwt_required, Identity, JwtConfig};
use poem::{get, handler, Route};
use serde_json::json;
use support::*;

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    format!("hello {identity}")
}

fn app() -> Route {
    Route::new().at("/protected", get(protected))
}

async fn call(auth: Option<&str>) -> poem::test::TestResponse {
    call_with(config(), auth).await
}

async fn call_with(config: JwtConfig, auth: Option<&str>) -> poem::test::TestResponse {
    let cli = client(app(), config);
    let mut req = cli.get("/protected");
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req.send().await
}

#[tokio::test]
async fn valid_token_reaches_the_handler() {
    let resp = call(Some(&bearer(&hs256(claims("alice"))))).await;
    resp.assert_status_is_ok();
    resp.assert_text("hello alice").await;
}

#[tokio::test]
async fn missing_and_malformed_authorization_headers() {
    assert_msg(call(None).await, 401, "Missing Authorization Header").await;
    let missing_type =
        "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'";
    assert_msg(call(Some("Basic creds")).await, 401, missing_type).await;
    let t = hs256(claims("alice"));
    assert_msg(call(Some(&format!("bearer {t}"))).await, 401, missing_type).await;
    assert_msg(
        call(Some(&format!("Bearer {t}, Bearer {t}"))).await,
        401,
        missing_type,
    )
    .await;
    let bad = "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'";
    assert_msg(call(Some("Bearer ")).await, 422, bad).await;
    assert_msg(call(Some("Bearer a b")).await, 422, bad).await;
    assert_msg(call(Some("Bearer ,,0")).await, 422, bad).await;
    assert_msg(
        call(Some("Foo 1, Bearer 2, Baz, 3")).await,
        422,
        "Not enough segments",
    )
    .await;
    call(Some(&format!("Basic c, Bearer {t}")))
        .await
        .assert_status_is_ok();
    call(Some(&format!("Bearer {t},   ")))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn malformed_tokens() {
    assert_msg(call(Some("Bearer xxx")).await, 422, "Not enough segments").await;
    assert_msg(
        call(Some("Bearer foobarbaz")).await,
        422,
        "Not enough segments",
    )
    .await;
    assert_msg(
        call(Some("Bearer aaaaa.bbbbb.ccccc")).await,
        422,
        "Invalid header padding",
    )
    .await;
    let t = hs256(claims("alice"));
    let (head, _) = t.split_once('.').unwrap();
    let not_json = format!("{}.e30.sig", base64_url("not json"));
    let resp = call(Some(&bearer(&not_json))).await;
    resp.assert_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY);
    let four = format!("{head}.e30.e30.x");
    assert_msg(
        call(Some(&bearer(&four))).await,
        422,
        "Invalid payload padding",
    )
    .await;
    let array_header = format!("{}.e30.sig", base64_url("[1]"));
    assert_msg(
        call(Some(&bearer(&array_header))).await,
        422,
        "Invalid header string: must be a json object",
    )
    .await;
}

fn base64_url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn signature_and_algorithm_checks() {
    let other = sign(
        json!({"alg": "HS256", "typ": "JWT"}),
        claims("alice"),
        "another-secret-another-secret-32b",
    );
    assert_msg(
        call(Some(&bearer(&other))).await,
        422,
        "Signature verification failed",
    )
    .await;
    let t = hs256(claims("alice"));
    // Flip one character in the middle of the signature (the last one carries padding bits).
    let cut = t.len() - 10;
    let flipped = if &t[cut..cut + 1] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &t[..cut], &t[cut + 1..]);
    assert_msg(
        call(Some(&bearer(&tampered))).await,
        422,
        "Signature verification failed",
    )
    .await;
    let hs512 = sign(
        json!({"alg": "HS512", "typ": "JWT"}),
        claims("alice"),
        SECRET,
    );
    assert_msg(
        call(Some(&bearer(&hs512))).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
    let (_, rest) = t.split_once('.').unwrap();
    let none = format!(
        "{}.{}",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        rest.rsplit_once('.').unwrap().0
    );
    let none = format!("{none}.");
    assert_msg(
        call(Some(&bearer(&none))).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
    // Allowed once listed in JWT_DECODE_ALGORITHMS (with its own key of the HMAC family).
    let mut cfg = config();
    cfg.decode_algorithms = Some(vec!["HS512".into()]);
    call_with(cfg, Some(&bearer(&hs512)))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn header_parameters_that_are_not_understood_are_refused() {
    let crit = sign(
        json!({"alg": "HS256", "crit": ["x-custom"], "x-custom": 1}),
        claims("alice"),
        SECRET,
    );
    assert_msg(
        call(Some(&bearer(&crit))).await,
        422,
        "Unsupported critical extension: x-custom",
    )
    .await;
    let zip = sign(
        json!({"alg": "HS256", "zip": "DEF"}),
        claims("alice"),
        SECRET,
    );
    assert_msg(
        call(Some(&bearer(&zip))).await,
        422,
        "Unsupported header parameter: zip",
    )
    .await;
    let kid = sign(json!({"alg": "HS256", "kid": 7}), claims("alice"), SECRET);
    assert_msg(
        call(Some(&bearer(&kid))).await,
        422,
        "Key ID header parameter must be a string",
    )
    .await;
}

#[tokio::test]
async fn duplicate_claims_are_refused() {
    use base64::Engine as _;
    let payload = format!(
        r#"{{"sub":"alice","type":"access","type":"refresh","exp":{}}}"#,
        NOW + 60
    );
    let input = format!(
        "{}.{}",
        base64_url(r#"{"alg":"HS256"}"#),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
    );
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    let sig =
        jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap();
    let resp = call(Some(&bearer(&format!("{input}.{sig}")))).await;
    assert_msg(
        resp,
        422,
        "Invalid payload string: duplicate key 'type' at line 1 column 47",
    )
    .await;
}

#[tokio::test]
async fn token_length_is_capped_before_decoding() {
    let long = hs256(claims_with("alice", json!({"pad": "x".repeat(9000)})));
    assert_msg(
        call(Some(&bearer(&long))).await,
        422,
        "Token is too long (over 8192 bytes)",
    )
    .await;
    let mut cfg = config();
    cfg.max_token_length = 20_000;
    call_with(cfg, Some(&bearer(&long)))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn expiry_is_checked_at_now_with_zero_leeway() {
    let at = |exp: i64| hs256(claims_with("alice", json!({"exp": exp})));
    assert_msg(
        call(Some(&bearer(&at(NOW - 1)))).await,
        401,
        "Token has expired",
    )
    .await;
    assert_msg(
        call(Some(&bearer(&at(NOW)))).await,
        401,
        "Token has expired",
    )
    .await;
    call(Some(&bearer(&at(NOW + 1))))
        .await
        .assert_status_is_ok();
    let mut cfg = config();
    cfg.decode_leeway = 10;
    call_with(cfg, Some(&bearer(&at(NOW - 5))))
        .await
        .assert_status_is_ok();
    // A token without exp never expires.
    call(Some(&bearer(&hs256(claims_with(
        "alice",
        json!({"exp": null}),
    )))))
    .await
    .assert_status_is_ok();
    let bad = hs256(claims_with("alice", json!({"exp": "soon"})));
    assert_msg(
        call(Some(&bearer(&bad))).await,
        422,
        "Expiration Time claim (exp) must be an integer.",
    )
    .await;
}

#[tokio::test]
async fn nbf_and_iat_in_the_future_are_not_yet_valid() {
    let nbf = hs256(claims_with("alice", json!({"nbf": NOW + 30})));
    assert_msg(
        call(Some(&bearer(&nbf))).await,
        422,
        "The token is not yet valid (nbf)",
    )
    .await;
    let iat = hs256(claims_with("alice", json!({"iat": NOW + 30, "nbf": null})));
    assert_msg(
        call(Some(&bearer(&iat))).await,
        422,
        "The token is not yet valid (iat)",
    )
    .await;
    let mut c = claims("alice");
    c["nbf"] = serde_json::Value::Null;
    assert_msg(
        call(Some(&bearer(&hs256(c)))).await,
        422,
        "Not Before claim (nbf) must be an integer.",
    )
    .await;
    let mut cfg = config();
    cfg.decode_leeway = 60;
    call_with(cfg, Some(&bearer(&nbf)))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn identity_claim_rules() {
    let no_sub = hs256(claims_with("alice", json!({"sub": null})));
    assert_msg(
        call(Some(&bearer(&no_sub))).await,
        422,
        "Missing claim: sub",
    )
    .await;
    let int_sub = hs256(claims_with("alice", json!({"sub": 1234})));
    assert_msg(
        call(Some(&bearer(&int_sub))).await,
        422,
        "Subject must be a string",
    )
    .await;
    let mut cfg = config();
    cfg.verify_sub = false;
    let resp = call_with(cfg, Some(&bearer(&int_sub))).await;
    resp.assert_status_is_ok();
    resp.assert_text("hello 1234").await;
    let bad_jti = hs256(claims_with("alice", json!({"jti": 5})));
    assert_msg(
        call(Some(&bearer(&bad_jti))).await,
        422,
        "JWT ID must be a string",
    )
    .await;
    let mut cfg = config();
    cfg.identity_claim = "identity".into();
    assert_msg(
        call_with(cfg.clone(), Some(&bearer(&hs256(claims("alice"))))).await,
        422,
        "Missing claim: identity",
    )
    .await;
    let custom = hs256(claims_with("alice", json!({"identity": "bob"})));
    call_with(cfg, Some(&bearer(&custom)))
        .await
        .assert_text("hello bob")
        .await;
}

#[tokio::test]
async fn audience_and_issuer_matrix() {
    // Reference parity: aud in the token and no audience configured is accepted.
    let with_aud = hs256(claims_with("alice", json!({"aud": "some_audience"})));
    call(Some(&bearer(&with_aud))).await.assert_status_is_ok();
    let mut cfg = config();
    cfg.decode_audience = Some(vec!["api".into(), "web".into()]);
    let missing = hs256(claims("alice"));
    assert_msg(
        call_with(cfg.clone(), Some(&bearer(&missing))).await,
        422,
        "Token is missing the \"aud\" claim",
    )
    .await;
    assert_msg(
        call_with(cfg.clone(), Some(&bearer(&with_aud))).await,
        422,
        "Audience doesn't match",
    )
    .await;
    let list = hs256(claims_with("alice", json!({"aud": ["other", "web"]})));
    call_with(cfg.clone(), Some(&bearer(&list)))
        .await
        .assert_status_is_ok();
    let bad_format = hs256(claims_with("alice", json!({"aud": 7})));
    assert_msg(
        call_with(cfg.clone(), Some(&bearer(&bad_format))).await,
        422,
        "Invalid claim format in token",
    )
    .await;
    cfg.decode_issuer = Some(vec!["https://issuer.example".into()]);
    // Both missing: the issuer error is reported, as PyJWT checks iss first.
    assert_msg(
        call_with(cfg.clone(), Some(&bearer(&missing))).await,
        422,
        "Token is missing the \"iss\" claim",
    )
    .await;
    let partial = hs256(claims_with(
        "alice",
        json!({"aud": "api", "iss": "https://issuer"}),
    ));
    assert_msg(
        call_with(cfg.clone(), Some(&bearer(&partial))).await,
        422,
        "Invalid issuer",
    )
    .await;
    let good = hs256(claims_with(
        "alice",
        json!({"aud": "api", "iss": "https://issuer.example"}),
    ));
    call_with(cfg, Some(&bearer(&good)))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn custom_header_name_type_and_message_key() {
    let t = hs256(claims("alice"));
    let mut cfg = config();
    cfg.header_type = String::new();
    call_with(cfg.clone(), Some(&t)).await.assert_status_is_ok();
    assert_msg(
        call_with(cfg, Some(&bearer(&t))).await,
        422,
        "Bad Authorization header. Expected 'Authorization: <JWT>'",
    )
    .await;

    let mut cfg = config();
    cfg.header_name = "X-Auth".into();
    cfg.header_type = "JWT".into();
    let cli = client(app(), cfg);
    let resp = cli.get("/protected").send().await;
    assert_msg(resp, 401, "Missing X-Auth Header").await;
    cli.get("/protected")
        .header("X-Auth", format!("JWT {t}"))
        .send()
        .await
        .assert_status_is_ok();

    let mut cfg = config();
    cfg.error_message_key = "message".into();
    let resp = call_with(cfg, None).await;
    resp.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    resp.assert_text("{\"message\":\"Missing Authorization Header\"}\n")
        .await;
}

#[tokio::test]
async fn a_route_without_the_manager_fails_clearly() {
    let cli = poem::test::TestClient::new(app());
    let resp = cli.get("/protected").send().await;
    // The body says nothing about the server's setup; the ERROR log names the fix.
    assert_msg(resp, 500, "Internal server error").await;
}
