//! Compact JWS parsing, signature check and registered-claim validation.
//!
//! This replaces `jsonwebtoken::decode`, whose defaults differ from PyJWT's (the README's security
//! section lists the gaps): the signature is checked with `jsonwebtoken::crypto::verify`
//! under an algorithm pinned by the config, and the claims are checked here with PyJWT's order,
//! rules and messages against an injectable clock. It also closes the gaps the crate leaves open:
//! zero default leeway, `nbf` and `iat` checked, `exp == now` expired, `crit` rejected, duplicate
//! JSON keys rejected, and a length cap before any decoding work.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use super::json::{parse_object, read_payload};
use super::keys::{DecodeKey, InSet, KeySet};
pub(crate) use super::keys::{KeyChoice, KeyOrigin};
use super::verifiers;
use crate::vocabulary::{JsonObject, JwtError, KeySource, NumericDate, TokenParts};

/// A token whose signature and claims verified: its parts (JOSE header, claims) and whether it
/// has expired (every other check passed; the caller refuses it as expired with this payload,
/// which is what the reference's second, `allow_expired` decode gives the expired callback).
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) parts: TokenParts,
    pub(crate) expired: bool,
    /// Whether the key that verified it is still in its set; `None` for a key that may differ
    /// per request (a decode-key loader's): such a token is never cached.
    pub(crate) key: Option<InSet>,
}

/// What a decode checks beyond the signature.
pub(crate) struct ClaimRules<'a> {
    pub(crate) leeway: f64,
    pub(crate) issuer: Option<&'a [String]>,
    pub(crate) audience: Option<&'a [String]>,
    pub(crate) verify_sub: bool,
    pub(crate) identity_claim: &'a str,
    /// The trusted issuer these are the rules of (`None`: this app's own tokens). Its tokens'
    /// parts record it (their users are filed under it). A `null` identity is missing in a token
    /// issued elsewhere (a trusted issuer's, the remote set's: it would name nobody; this app's
    /// own tokens accept it, as the reference).
    pub(crate) trusted_issuer: Option<&'a str>,
    /// What a remote-set token's users are filed under when no issuer rule names its issuer
    /// (`issuer` is `None`): the JWK set's URL ([`KeySource::Remote`]).
    pub(crate) remote_set: Option<&'a str>,
    /// The JWT access-token profile of RFC 9068 ([`check_access_token_profile`]), for tokens
    /// issued elsewhere only ([`KeySource::is_foreign`]): this app's own keys sign tokens that
    /// follow no such profile.
    pub(crate) access_token_profile: bool,
    pub(crate) max_length: usize,
}

fn b64(segment: &str, what: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::invalid(format!("Invalid {what} padding")))
}

/// Header parameters whose meaning this verifier does not implement; a token using them is
/// refused rather than half-understood (RFC 7515 §4.1.11, RFC 7797, RFC 8725 §3.6).
const REFUSED_HEADER_PARAMS: &[&str] = &["b64", "zip", "enc"];

fn check_header(header: &JsonObject) -> Result<(), JwtError> {
    if let Some(kid) = header.get("kid")
        && !kid.is_string()
    {
        return Err(JwtError::invalid(
            "Key ID header parameter must be a string",
        ));
    }
    if let Some(crit) = header.get("crit") {
        let names: Vec<&str> = crit
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        return Err(JwtError::invalid(match names.first() {
            Some(first) => format!("Unsupported critical extension: {first}"),
            None => "Invalid 'crit' header parameter".to_string(),
        }));
    }
    if let Some(p) = REFUSED_HEADER_PARAMS
        .iter()
        .find(|p| header.contains_key(**p))
    {
        return Err(JwtError::invalid(format!(
            "Unsupported header parameter: {p}"
        )));
    }
    if header
        .get("cty")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
    {
        return Err(JwtError::invalid("Nested tokens are not supported"));
    }
    Ok(())
}

/// The last header segment that passed the header rules on this thread, with its parsed header.
///
/// A service sees the same header (`{"alg":"HS256","typ":"JWT"}`) on nearly every token, and the
/// header rules ([`check_header`], `alg` a string) depend on its bytes only, so the exact segment
/// that passed them once passes them again: it is not decoded, parsed or checked twice in a row.
/// The key choice and the signature check still run on every token. One entry per thread.
mod header_checks {
    use std::cell::RefCell;
    use std::sync::Arc;

    use crate::vocabulary::JsonObject;

    thread_local! {
        static LAST: RefCell<Option<(Box<str>, Arc<JsonObject>)>> = const { RefCell::new(None) };
    }

    /// The parsed header, when `segment` is, byte for byte, the last one that passed.
    pub(super) fn passed(segment: &str) -> Option<Arc<JsonObject>> {
        LAST.with(|last| {
            let last = last.try_borrow().ok()?;
            let (known, header) = last.as_ref()?;
            (**known == *segment).then(|| header.clone())
        })
    }

    /// Records that `segment` parsed into `header` and passed the header rules.
    pub(super) fn remember(segment: &str, header: &Arc<JsonObject>) {
        LAST.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some((segment.into(), header.clone()));
            }
        });
    }
}

/// A JWS whose signature verified: its header, its raw payload bytes and the verifying key's
/// [`InSet`] flag (when it has one).
#[derive(Debug)]
pub(crate) struct Jws {
    pub(crate) header: Arc<JsonObject>,
    pub(crate) payload: Vec<u8>,
    pub(crate) key: Option<InSet>,
    /// Where the verifying key came from.
    pub(crate) origin: KeyOrigin,
}

/// The JWS layer, as PyJWT's `_load` and `_verify_signature` (same split, same messages): the
/// header's `alg` must be allowed (`key_for` gives its pinned algorithm and key), unsupported
/// header parameters are refused, and the signature must verify.
pub(crate) fn verify_jws<'k>(
    token: &str,
    max_length: usize,
    key_for: impl Fn(&JsonObject) -> Result<KeyChoice<'k>, JwtError>,
) -> Result<Jws, JwtError> {
    if token.len() > max_length {
        return Err(JwtError::invalid(format!(
            "Token is too long (over {max_length} bytes)"
        )));
    }
    let (signing_input, crypto_segment) = token
        .rsplit_once('.')
        .ok_or_else(|| JwtError::invalid("Not enough segments"))?;
    let (header_segment, payload_segment) = signing_input
        .split_once('.')
        .ok_or_else(|| JwtError::invalid("Not enough segments"))?;
    let (header, checked) = match header_checks::passed(header_segment) {
        Some(header) => (header, true),
        None => (
            Arc::new(parse_object(&b64(header_segment, "header")?, "header")?),
            false,
        ),
    };
    let payload = b64(payload_segment, "payload")?;
    let signature = b64(crypto_segment, "crypto")?;

    if !checked {
        if !header.get("alg").is_some_and(Value::is_string) {
            return Err(JwtError::invalid("The specified alg value is not allowed"));
        }
        check_header(&header)?;
        header_checks::remember(header_segment, &header);
    }
    let choice = key_for(&header)?;
    let valid = verifiers::verify(
        choice.id,
        choice.alg,
        choice.key,
        signing_input.as_bytes(),
        signature,
        crypto_segment,
    );
    if !valid {
        return Err(JwtError::invalid("Signature verification failed"));
    }
    Ok(Jws {
        header,
        payload,
        key: choice.in_set.cloned(),
        origin: choice.origin,
    })
}

/// The `kid` of a token's header, unverified, when the header decodes (for choosing whether to
/// refetch a remote JWK set; the full checks run afterwards).
pub(crate) fn peek_kid(token: &str, max_length: usize) -> Option<String> {
    if token.len() > max_length {
        return None;
    }
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let header: JsonObject = serde_json::from_slice(&header).ok()?;
    header.get("kid")?.as_str().map(String::from)
}

/// The header and payload of a token *without* verifying it, for the decode-key loader only
/// (the reference passes it the unverified header and payload).
pub(crate) fn peek(token: &str, max_length: usize) -> Result<(JsonObject, JsonObject), JwtError> {
    if token.len() > max_length {
        return Err(JwtError::invalid(format!(
            "Token is too long (over {max_length} bytes)"
        )));
    }
    let mut parts = token.splitn(3, '.');
    let (Some(h), Some(p), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::invalid("Not enough segments"));
    };
    let header = parse_object(&b64(h, "header")?, "header")?;
    let payload = parse_object(&b64(p, "payload")?, "payload")?;
    Ok((header, payload))
}

/// How a decode leaves the claims: parsed into a map (for callers that return them), or read
/// in one pass into what the pipeline needs with the map built only if asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimsAs {
    Map,
    Facts,
}

/// A whole token with the configured keys (and the current remote JWK set).
pub(crate) fn decode(
    token: &str,
    keys: &KeySet,
    remote: &[DecodeKey],
    rules: &ClaimRules<'_>,
    now: f64,
    csrf: Option<&str>,
    claims_as: ClaimsAs,
) -> Result<Decoded, JwtError> {
    decode_with(
        token,
        |header| keys.decoding_for(header, remote),
        rules,
        now,
        csrf,
        claims_as,
    )
}

/// A whole token: the JWS layer with the key `key_for` picks, then the claims, then (for a
/// cookie token on a CSRF method) the double-submit value against the `csrf` claim, in constant
/// time. An expired token is returned with `expired: true` once every other check passed: the
/// reference decodes it a second time with `allow_expired`, and that decode's error (a missing
/// identity claim, a CSRF mismatch, ...) wins over "expired".
pub(crate) fn decode_with<'k>(
    token: &str,
    key_for: impl Fn(&JsonObject) -> Result<KeyChoice<'k>, JwtError>,
    rules: &ClaimRules<'_>,
    now: f64,
    csrf: Option<&str>,
    claims_as: ClaimsAs,
) -> Result<Decoded, JwtError> {
    let Jws {
        header,
        payload,
        key,
        origin,
    } = verify_jws(token, rules.max_length, key_for)?;
    let mut parts = match claims_as {
        ClaimsAs::Map => {
            let claims = parse_object(&payload, "payload")?;
            TokenParts::new(header, claims, rules.identity_claim)
        }
        ClaimsAs::Facts => {
            let (json, facts) = read_payload(payload, rules.identity_claim)?;
            TokenParts::unparsed(header, json, facts)
        }
    };
    let source = match (rules.trusted_issuer, origin) {
        (Some(issuer), _) => KeySource::Issuer(issuer.into()),
        (None, KeyOrigin::Fetched) => KeySource::Remote(remote_set_name(&parts, rules).into()),
        (None, KeyOrigin::Loaded) => KeySource::Loader,
        (None, KeyOrigin::Config) => KeySource::Own,
    };
    parts.verified_by(source, rules.leeway as u64);
    let expired = validate_claims(&parts, rules, now)?;
    if let Some(submitted) = csrf {
        check_csrf(parts.claims(), submitted)?;
    }
    Ok(Decoded {
        parts,
        expired,
        key,
    })
}

/// The name a remote-set token's users are filed under: its `iss` when an issuer rule applies
/// (the claims check that follows refuses the token unless it is one of the rule's; a rule of one
/// issuer names it without reading the claims), else the JWK set's URL.
fn remote_set_name<'r>(parts: &'r TokenParts, rules: &ClaimRules<'r>) -> &'r str {
    match rules.issuer {
        Some([only]) => only,
        Some(_) => parts
            .claims()
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        None => rules.remote_set.unwrap_or_default(),
    }
}

/// The CSRF double submit: the value the request carries must equal the token's `csrf` claim,
/// compared in constant time.
pub(crate) fn check_csrf(claims: &JsonObject, submitted: &str) -> Result<(), JwtError> {
    let expected = claims
        .get("csrf")
        .ok_or_else(|| JwtError::invalid("Missing claim: csrf"))?;
    let matches = expected.as_str().is_some_and(|e| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            e.as_bytes(),
            submitted.as_bytes(),
        ))
    });
    if !matches {
        return Err(JwtError::Csrf(
            "CSRF double submit tokens do not match".into(),
        ));
    }
    Ok(())
}

/// A NumericDate claim read with the parts, or its error (PyJWT's message).
fn numeric_date(date: NumericDate, name: &str, label: &str) -> Result<Option<f64>, JwtError> {
    match date {
        NumericDate::Absent => Ok(None),
        NumericDate::At(seconds) => Ok(Some(seconds)),
        NumericDate::Invalid => Err(JwtError::invalid(format!(
            "{label} claim ({name}) must be an integer."
        ))),
    }
}

/// PyJWT's `_validate_claims` order: iat, nbf, exp, iss, aud, sub, jti; then the reference's
/// identity-claim presence check. `Ok(true)`: every check passed but `exp` (the token expired).
///
/// The dates, `sub`, `jti` and the identity were read once with the parts (`TokenParts::facts`),
/// so a repeated token costs a few comparisons here; `iss` and `aud` are read when checked.
pub(crate) fn validate_claims(
    parts: &TokenParts,
    rules: &ClaimRules<'_>,
    now: f64,
) -> Result<bool, JwtError> {
    let facts = parts.facts();
    if let Some(iat) = numeric_date(facts.iat, "iat", "Issued At")?
        && iat > now + rules.leeway
    {
        return Err(JwtError::invalid("The token is not yet valid (iat)"));
    }
    if let Some(nbf) = numeric_date(facts.nbf, "nbf", "Not Before")?
        && nbf > now + rules.leeway
    {
        return Err(JwtError::invalid("The token is not yet valid (nbf)"));
    }
    let expired = numeric_date(facts.exp, "exp", "Expiration Time")?
        .is_some_and(|exp| exp <= now - rules.leeway);
    if let Some(issuer) = rules.issuer {
        check_issuer(parts.claims(), issuer)?;
    }
    if let Some(audience) = rules.audience {
        let claimed: Vec<&str> = match parts.claims().get("aud") {
            None => return Err(JwtError::invalid("Token is missing the \"aud\" claim")),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items
                .iter()
                .map(Value::as_str)
                .collect::<Option<_>>()
                .ok_or_else(|| JwtError::invalid("Invalid claim format in token"))?,
            Some(_) => return Err(JwtError::invalid("Invalid claim format in token")),
        };
        if !audience.iter().any(|a| claimed.contains(&a.as_str())) {
            return Err(JwtError::invalid("Audience doesn't match"));
        }
    }
    if rules.verify_sub && facts.sub_not_string {
        return Err(JwtError::invalid("Subject must be a string"));
    }
    if facts.jti_not_string {
        return Err(JwtError::invalid("JWT ID must be a string"));
    }
    if !facts.has_identity || (parts.source().is_foreign() && facts.identity.is_null()) {
        return Err(JwtError::invalid(format!(
            "Missing claim: {}",
            rules.identity_claim
        )));
    }
    if rules.access_token_profile && parts.source().is_foreign() {
        check_access_token_profile(parts)?;
    }
    Ok(expired)
}

/// The token's `iss` is one of `accepted` (PyJWT's messages): the configured issuers, or the
/// ones a route names.
pub(crate) fn check_issuer<S: AsRef<str>>(
    claims: &JsonObject,
    accepted: &[S],
) -> Result<(), JwtError> {
    match claims.get("iss") {
        None => Err(JwtError::invalid("Token is missing the \"iss\" claim")),
        Some(iss)
            if iss
                .as_str()
                .is_some_and(|i| accepted.iter().any(|x| x.as_ref() == i)) =>
        {
            Ok(())
        }
        Some(_) => Err(JwtError::invalid("Invalid issuer")),
    }
}

/// The JWT access-token profile (RFC 9068 sections 2.1, 2.2, 4): the header `typ` is `at+jwt`,
/// as a media type (RFC 7515 section 4.1.9: `application/` may be omitted, and media types
/// compare without case), and `client_id` (a string), `iat` and `jti` are present. It keeps an
/// ID token or another JWT of the same provider from passing as an access token (RFC 8725
/// section 3.11).
fn check_access_token_profile(parts: &TokenParts) -> Result<(), JwtError> {
    let typ = parts.header().get("typ").and_then(Value::as_str);
    let media = typ.map(|t| match t.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &t[12..],
        _ => t,
    });
    if !media.is_some_and(|m| m.eq_ignore_ascii_case("at+jwt")) {
        return Err(JwtError::invalid(
            "Invalid token type: an access token has the header typ \"at+jwt\" (RFC 9068)",
        ));
    }
    let claims = parts.claims();
    for claim in ["client_id", "iat", "jti"] {
        if !claims.contains_key(claim) {
            return Err(JwtError::invalid(format!("Missing claim: {claim}")));
        }
    }
    if !claims.get("client_id").is_some_and(Value::is_string) {
        return Err(JwtError::invalid("Client ID must be a string"));
    }
    Ok(())
}

/// Base64url (no padding) of a JSON value, for building tokens.
pub(crate) fn encode_segment(value: &impl serde::Serialize) -> Result<String, JwtError> {
    let json = serde_json::to_vec(value)
        .map_err(|e| JwtError::TokenCreation(format!("cannot serialize token part: {e}").into()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for key selection: reached only when the header rules passed.
    fn reached(_: &JsonObject) -> Result<KeyChoice<'static>, JwtError> {
        Err(JwtError::invalid("key selection reached"))
    }

    fn message(token: &str) -> String {
        match verify_jws(token, 8192, reached) {
            Err(JwtError::InvalidToken(m)) => m.to_string(),
            other => format!("{other:?}"),
        }
    }

    fn segment(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn a_remembered_header_changes_no_answer() {
        let good = segment(r#"{"alg":"HS256","typ":"JWT"}"#);
        let crit = segment(r#"{"alg":"HS256","crit":["exp"]}"#);
        let payload = segment("{}");
        for _ in 0..2 {
            // The same good header, again and again: still up to key selection.
            assert_eq!(
                message(&format!("{good}.{payload}.c2ln")),
                "key selection reached"
            );
            // The good header with a bad payload or signature: the same errors as before.
            assert_eq!(
                message(&format!("{good}.@@.c2ln")),
                "Invalid payload padding"
            );
            assert_eq!(
                message(&format!("{good}.{payload}.@@")),
                "Invalid crypto padding"
            );
            // A header failing the rules is never remembered: refused every time, also right
            // after a good one.
            assert_eq!(
                message(&format!("{crit}.{payload}.c2ln")),
                "Unsupported critical extension: exp"
            );
            // A one-character change to the good segment is parsed and checked on its own.
            let mut changed = good.clone();
            changed.pop();
            assert_eq!(
                message(&format!("{changed}.{payload}.c2ln")),
                "Invalid header padding"
            );
        }
    }
    /// What a decode records as the token's source comes from the key chosen for it and the
    /// rules it was verified under, never from its `kid`; a remote-set token is named by its
    /// verified `iss` under an issuer rule (one issuer or several), else by the JWK set's URL.
    #[test]
    fn the_key_chosen_says_where_a_token_comes_from() {
        crate::jose::keys::install_crypto_provider();
        let secret = "k".repeat(32);
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        let claims = serde_json::json!({"sub": "alice", "iss": "https://b.example"});
        let signing = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        let token = jsonwebtoken::encode(&header, &claims, &signing).unwrap();
        let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
        let issuers = [
            "https://a.example".to_string(),
            "https://b.example".to_string(),
        ];
        let source = |origin, issuer: Option<&[String]>, trusted_issuer| {
            let rules = ClaimRules {
                leeway: 0.0,
                issuer,
                audience: None,
                verify_sub: true,
                identity_claim: "sub",
                trusted_issuer,
                remote_set: Some("https://b.example/jwks"),
                access_token_profile: false,
                max_length: 8192,
            };
            let choice = |_: &JsonObject| {
                Ok(KeyChoice {
                    alg: jsonwebtoken::Algorithm::HS256,
                    key: &key,
                    id: None,
                    in_set: None,
                    origin,
                })
            };
            let decoded = decode_with(&token, choice, &rules, 0.0, None, ClaimsAs::Facts).unwrap();
            decoded.parts.source().clone()
        };
        let b = || Box::<str>::from("https://b.example");
        assert_eq!(
            source(KeyOrigin::Config, Some(&issuers), None),
            KeySource::Own
        );
        assert_eq!(source(KeyOrigin::Loaded, None, None), KeySource::Loader);
        assert_eq!(
            source(KeyOrigin::Fetched, Some(&issuers), None),
            KeySource::Remote(b())
        );
        assert_eq!(
            source(KeyOrigin::Fetched, Some(&issuers[1..]), None),
            KeySource::Remote(b())
        );
        assert_eq!(
            source(KeyOrigin::Fetched, None, None),
            KeySource::Remote("https://b.example/jwks".into())
        );
        assert_eq!(
            source(
                KeyOrigin::Fetched,
                Some(&issuers[1..]),
                Some("https://b.example")
            ),
            KeySource::Issuer(b())
        );
    }
}
