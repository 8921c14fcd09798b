//! Claim validation: a claim set built from the input, signed properly with the HS256 secret, then
//! `decode_token` on two managers (defaults; leeway 30 s with audiences and an issuer) and the
//! request pipeline (`verify_jwt_in_request`, then a `#[jwt_required]` route with implicit
//! refresh) with the token in a header, a cookie, the query string or the JSON body.
//!
//! Input: either a JSON text starting with `{` (signed byte for byte as the payload, so duplicate
//! keys, huge numbers and odd escapes reach the parser), or anything else, read with `arbitrary`
//! as a structured claim set (exp/nbf/iat as integers, floats, times around NOW, strings, huge and
//! out-of-range literals; sub, type, fresh, jti, csrf, aud, iss of every JSON type; extra claims,
//! duplicates included; a header variant; the route and where the token goes).
//!
//! Invariants: `decode_token` accepts exactly when an independent reading of the claims says so
//! (unique keys; iat/nbf finite numbers not in the future beyond the leeway; exp a finite number;
//! iss/aud when configured; sub present and a string; jti a string; header without crit, b64,
//! cty JWT or a non-string kid), and answers "expired" exactly for an otherwise valid token whose
//! exp has passed beyond the leeway; the pipeline never answers 5xx and only lets through what
//! `decode_token` accepts, of the route's type and freshness.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_fuzz::{
    check_accepted_claims, check_pipeline, check_route, claims_subjects, locate_subject, Sent,
    Subject, METHODS, NOW, SECRET,
};
use jwt_runtime::JwtError;
use libfuzzer_sys::fuzz_target;
use poem::http::header;
use poem::Request;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

const KNOWN: &[&str] = &[
    "access",
    "refresh",
    "alice",
    "api",
    "other",
    "https://issuer.example",
    "csrf-value",
    "",
];

const WEIRD: &[&str] = &[
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "0.0",
    "18446744073709551616",
    "-9223372036854775809",
    "1700000000.9999999999",
    "1700000000.5",
    "1699999999.5",
    "1.7e9",
    "17e8",
    "1700000001e0",
    "NaN",
    "Infinity",
    "[]",
    "{}",
    "\"1800000000\"",
    "\"\\u0061lice\"",
    "true",
    "9007199254740993",
    "-1700000000",
];

#[derive(Arbitrary, Debug)]
enum Field {
    Absent,
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// NOW + delta seconds.
    Rel(i32),
    /// NOW + delta + fraction.
    RelFrac(i16, u16),
    Str(String),
    Known(u8),
    KnownArr(Vec<u8>),
    Weird(u8),
    Obj(Vec<(String, i8)>),
}

impl Field {
    fn render(&self) -> Option<String> {
        let j = |v: Value| Some(v.to_string());
        match self {
            Field::Absent => None,
            Field::Null => j(Value::Null),
            Field::Bool(b) => j((*b).into()),
            Field::Int(i) => j((*i).into()),
            Field::UInt(u) => j((*u).into()),
            // serde_json writes null for non-finite floats.
            Field::Float(f) => j((*f).into()),
            Field::Rel(d) => j((NOW as i64 + i64::from(*d)).into()),
            Field::RelFrac(d, f) => j((NOW + f64::from(*d) + f64::from(*f) / 65536.0).into()),
            Field::Str(s) => j(s.as_str().into()),
            Field::Known(k) => j(KNOWN[usize::from(*k) % KNOWN.len()].into()),
            Field::KnownArr(ks) => j(ks
                .iter()
                .map(|k| Value::from(KNOWN[usize::from(*k) % KNOWN.len()]))
                .collect()),
            Field::Weird(w) => Some(WEIRD[usize::from(*w) % WEIRD.len()].to_string()),
            Field::Obj(entries) => j(Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), (*v).into()))
                    .collect(),
            )),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Claims {
    header: u8,
    bits: u8,
    method: u8,
    place: u8,
    send_csrf: bool,
    exp: Field,
    nbf: Field,
    iat: Field,
    sub: Field,
    typ: Field,
    fresh: Field,
    jti: Field,
    csrf: Field,
    aud: Field,
    iss: Field,
    extra: Vec<(String, Field)>,
}

const HEADERS: &[(&str, Algorithm, bool)] = &[
    (r#"{"alg":"HS256","typ":"JWT"}"#, Algorithm::HS256, true),
    (r#"{"typ":"JWT","alg":"HS256"}"#, Algorithm::HS256, true),
    (
        r#"{"alg":"HS256","kid":"k1","typ":"at+jwt"}"#,
        Algorithm::HS256,
        true,
    ),
    (r#"{"alg":"HS256","kid":5}"#, Algorithm::HS256, false),
    (
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        Algorithm::HS256,
        false,
    ),
    (r#"{"alg":"HS256","b64":false}"#, Algorithm::HS256, false),
    (r#"{"alg":"HS384"}"#, Algorithm::HS384, false),
    (r#"{"alg":"HS256","cty":"jwt"}"#, Algorithm::HS256, false),
    (r#"{"alg":"HS256","alg":"HS256"}"#, Algorithm::HS256, false),
];

/// The top-level members of a JSON object in order, duplicates kept; `None` if the text is not
/// one JSON object.
fn members(bytes: &[u8]) -> Option<Vec<(String, Value)>> {
    struct Members(Vec<(String, Value)>);
    impl<'de> serde::Deserialize<'de> for Members {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Members;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Members, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = a.next_entry::<String, Value>()? {
                        out.push(entry);
                    }
                    Ok(Members(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_slice::<Members>(bytes).ok().map(|m| m.0)
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Accept,
    Expired,
    Refuse(&'static str),
}

/// The oracle: what `decode_token` must answer for a well-signed token with this header and
/// payload under `s`'s rules, read independently of jwt-runtime.
fn verdict(s: &Subject, header_ok: bool, payload: &[u8]) -> Verdict {
    use Verdict::*;
    if !header_ok {
        return Refuse("header");
    }
    let Some(members) = members(payload) else {
        return Refuse("not one JSON object");
    };
    let mut claims = serde_json::Map::new();
    for (k, v) in members {
        if claims.insert(k, v).is_some() {
            return Refuse("duplicate claim");
        }
    }
    let date = |name: &str| -> Result<Option<f64>, ()> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(f.trunc())),
                _ => Err(()),
            },
        }
    };
    match date("iat") {
        Err(()) => return Refuse("iat type"),
        Ok(Some(iat)) if iat > NOW + s.leeway => return Refuse("iat future"),
        _ => {}
    }
    match date("nbf") {
        Err(()) => return Refuse("nbf type"),
        Ok(Some(nbf)) if nbf > NOW + s.leeway => return Refuse("nbf future"),
        _ => {}
    }
    let expired = match date("exp") {
        Err(()) => return Refuse("exp type"),
        Ok(exp) => exp.is_some_and(|e| e <= NOW - s.leeway),
    };
    if let Some(issuers) = s.issuer {
        match claims.get("iss").and_then(Value::as_str) {
            Some(i) if issuers.contains(&i) => {}
            _ => return Refuse("iss"),
        }
    }
    if let Some(audiences) = s.audience {
        let claimed: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(items)) => match items.iter().map(Value::as_str).collect() {
                Some(v) => v,
                None => return Refuse("aud item type"),
            },
            _ => return Refuse("aud"),
        };
        if !audiences.iter().any(|a| claimed.contains(a)) {
            return Refuse("aud mismatch");
        }
    }
    if claims.get("sub").is_some_and(|v| !v.is_string()) {
        return Refuse("sub type");
    }
    if claims.get("jti").is_some_and(|v| !v.is_string()) {
        return Refuse("jti type");
    }
    if !claims.contains_key("sub") {
        return Refuse("no sub");
    }
    if expired {
        Expired
    } else {
        Accept
    }
}

fn sign(header: &str, payload: &[u8], alg: Algorithm) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        alg,
    )
    .expect("HMAC signing works");
    format!("{input}.{sig}")
}

fuzz_target!(|data: &[u8]| {
    let (header_idx, bits, method, place, send_csrf, payload) = if data.first() == Some(&b'{') {
        (0, 0, 0, 0, false, data.to_vec())
    } else {
        let Ok(c) = Claims::arbitrary_take_rest(Unstructured::new(data)) else {
            return;
        };
        let mut parts = Vec::new();
        let named = [
            ("exp", &c.exp),
            ("nbf", &c.nbf),
            ("iat", &c.iat),
            ("sub", &c.sub),
            ("type", &c.typ),
            ("fresh", &c.fresh),
            ("jti", &c.jti),
            ("csrf", &c.csrf),
            ("aud", &c.aud),
            ("iss", &c.iss),
        ];
        for (name, field) in named
            .into_iter()
            .chain(c.extra.iter().map(|(k, f)| (k.as_str(), f)))
        {
            if let Some(v) = field.render() {
                parts.push(format!("{}:{v}", Value::from(name)));
            }
        }
        let payload = format!("{{{}}}", parts.join(",")).into_bytes();
        (c.header, c.bits, c.method, c.place, c.send_csrf, payload)
    };
    let (header, alg, header_ok) = HEADERS[usize::from(header_idx) % HEADERS.len()];
    let token = sign(header, &payload, alg);

    for s in claims_subjects() {
        let expected = verdict(s, header_ok, &payload);
        let got = s.manager.decode_token(&token);
        if jwt_fuzz::debug() {
            eprintln!(
                "{}: expected {expected:?}, got {:?}",
                s.name,
                got.as_ref().map(|_| "accepted")
            );
        }
        match (&expected, &got) {
            (Verdict::Accept, Ok(claims)) => check_accepted_claims(s, claims),
            (Verdict::Expired, Err(JwtError::Expired)) => {}
            (Verdict::Refuse(_), Err(e)) if !matches!(e, JwtError::Expired) => {}
            _ => panic!(
                "{}: expected {expected:?}, decode_token answered {got:?}\npayload: {}\nheader: {header}",
                s.name,
                String::from_utf8_lossy(&payload)
            ),
        }
    }

    // The same token through the request pipeline, from one of the four locations.
    let method = METHODS[usize::from(method) % METHODS.len()].clone();
    let refresh = bits & 0x04 != 0;
    let csrf_claim = serde_json::from_slice::<Value>(&payload)
        .ok()
        .and_then(|v| v.get("csrf").and_then(Value::as_str).map(String::from));
    let mut csrf_header = None;
    let make = |csrf_header: &mut Option<String>| {
        let mut builder = Request::builder().method(method.clone());
        let mut body = Vec::new();
        match place % 4 {
            0 => builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}")),
            1 => {
                let name = if refresh {
                    "refresh_token_cookie"
                } else {
                    "access_token_cookie"
                };
                builder = builder.header(header::COOKIE, format!("{name}={token}"));
                if send_csrf {
                    if let Some(c) = csrf_claim
                        .as_deref()
                        .filter(|c| poem::http::HeaderValue::from_str(c).is_ok())
                    {
                        builder = builder.header("X-CSRF-TOKEN", c);
                        *csrf_header = Some(c.to_string());
                    }
                }
            }
            2 => builder = builder.uri_str(format!("/protected?jwt={token}")),
            _ => {
                let key = if refresh {
                    "refresh_token"
                } else {
                    "access_token"
                };
                builder = builder.content_type("application/json");
                body = serde_json::to_vec(&serde_json::json!({ key: token })).unwrap();
            }
        }
        if place % 4 != 2 {
            builder = builder.uri_str("/protected");
        }
        builder.body(body)
    };
    let req = make(&mut csrf_header);
    let sent = Sent {
        method: method.clone(),
        bits,
        candidates: vec![token.clone()],
        csrf_header: csrf_header.as_deref(),
    };
    let verified = check_pipeline(locate_subject(), req, &sent);
    let direct = (bits & 0x1F == 0).then_some(verified.is_some());
    check_route(make(&mut None), &sent, direct);
});
