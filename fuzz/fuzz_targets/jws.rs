//! The JWS parser and verifier: the input, as a compact token, through `decode_token` (and
//! `get_csrf_token`, `set_access_cookies`) on four managers (HS256; HS256 with HS384 and HS512
//! also allowed; RS256; ES256).
//!
//! Invariants: no panic; the other entry points accept only what `decode_token` accepts, and the
//! cookie line holds the token itself; an accepted token has exactly three segments, a JSON-object header whose
//! `alg` is on that manager's allow-list, claims that pass the independent claim rules, and the
//! signature jsonwebtoken computes itself for the deterministic algorithms (HS*, RS256): a
//! second, different signature string that also verifies would be signature malleability.
#![no_main]

use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_fuzz::{check_accepted_claims, header_of, jws_subjects, RSA_PRIVATE, SECRET};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn rsa_key() -> &'static EncodingKey {
    static K: std::sync::OnceLock<EncodingKey> = std::sync::OnceLock::new();
    K.get_or_init(|| EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).expect("rsa_a.pem"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    for s in jws_subjects() {
        let result = s.manager.decode_token(token);
        // The other entry points that take an encoded token verify it the same way.
        if let Ok(csrf) = s.manager.get_csrf_token(token) {
            let claims = result
                .as_ref()
                .expect("get_csrf_token accepted what decode_token refuses");
            assert_eq!(
                claims.get("csrf").and_then(Value::as_str),
                Some(csrf.as_str())
            );
        }
        let mut resp = poem::Response::default();
        if s.manager.set_access_cookies(&mut resp, token).is_ok() {
            assert!(
                result.is_ok(),
                "set_access_cookies accepted what decode_token refuses"
            );
            let first = resp
                .headers()
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert!(
                first.starts_with(&format!("access_token_cookie={token};")),
                "the access cookie line is not the token: {first:?}"
            );
        }
        if jwt_fuzz::debug() {
            eprintln!("{}: {:?}", s.name, result.as_ref().map(|_| "accepted"));
        }
        let Ok(claims) = result else {
            continue;
        };
        let header = header_of(token);
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        assert!(s.allowed.contains(&alg), "{}: accepted alg {alg:?}", s.name);
        check_accepted_claims(s, &claims);
        let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
        let key = match alg {
            "HS256" | "HS384" | "HS512" => Some(EncodingKey::from_secret(SECRET.as_bytes())),
            "RS256" => Some(rsa_key().clone()),
            _ => None,
        };
        if let Some(key) = key {
            let alg: Algorithm = alg.parse().expect("a known algorithm");
            let expected = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, alg)
                .expect("signing works");
            assert_eq!(
                signature, expected,
                "{}: a second signature string verified",
                s.name
            );
        }
    }
});
