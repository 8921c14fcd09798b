//! Token location: a request built from the input (method, Authorization, Cookie, query string,
//! Content-Type, X-CSRF-TOKEN, Content-Length, body) through `verify_jwt_in_request` on an HS256
//! manager looking in headers, cookies, the query string and the JSON body (limit 512 bytes),
//! then the same request through a `#[jwt_required]` route (with implicit refresh).
//!
//! Input: fields separated by 0xFF bytes: selector, Authorization, Cookie, query, Content-Type,
//! X-CSRF-TOKEN, body (the body is everything after the sixth separator). The selector's first
//! byte picks the method, its second the route options (see `jwt_fuzz::options_of`; 0x40 also
//! sends the true Content-Length, 0x20 a false, huge one). An empty field sends no header.
#![no_main]

use jwt_fuzz::{check_pipeline, check_route, locate_subject, token_runs, Sent, METHODS};
use libfuzzer_sys::fuzz_target;
use poem::http::{header, HeaderValue, Uri};
use poem::Request;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut fields = data.splitn(7, |b| *b == 0xFF);
    let mut next = || fields.next().unwrap_or(&[]);
    let (selector, auth, cookie, query, content_type, csrf, body) =
        (next(), next(), next(), next(), next(), next(), next());
    let method =
        METHODS[usize::from(selector.first().copied().unwrap_or(0)) % METHODS.len()].clone();
    let bits = selector.get(1).copied().unwrap_or(0);

    let mut uri = b"/protected".to_vec();
    if !query.is_empty() {
        uri.push(b'?');
        uri.extend_from_slice(query);
    }
    let uri = Uri::try_from(uri).unwrap_or_else(|_| Uri::from_static("/protected"));
    let sent_csrf = Some(csrf)
        .filter(|c| !c.is_empty() && HeaderValue::from_bytes(c).is_ok())
        .and_then(|c| std::str::from_utf8(c).ok());
    let make = || {
        let mut builder = Request::builder().method(method.clone()).uri(uri.clone());
        for (name, value) in [
            (header::AUTHORIZATION, auth),
            (header::COOKIE, cookie),
            (header::CONTENT_TYPE, content_type),
            (header::HeaderName::from_static("x-csrf-token"), csrf),
        ] {
            if value.is_empty() {
                continue;
            }
            if let Ok(v) = HeaderValue::from_bytes(value) {
                builder = builder.header(name, v);
            }
        }
        if bits & 0x40 != 0 {
            builder = builder.header(header::CONTENT_LENGTH, body.len().to_string());
        } else if bits & 0x20 != 0 {
            builder = builder.header(header::CONTENT_LENGTH, "99999999999");
        }
        builder.body(body.to_vec())
    };
    let req = make();

    // The oracle's own extraction: every token-shaped run of the raw fields, of the decoded query
    // and of the JSON body's string values.
    let mut candidates = Vec::new();
    for raw in [auth, cookie] {
        token_runs(&String::from_utf8_lossy(raw), &mut candidates);
    }
    if let Some(q) = uri.query() {
        for (_, v) in form_urlencoded::parse(q.as_bytes()) {
            token_runs(&v, &mut candidates);
        }
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        for v in map.values() {
            if let Value::String(s) = v {
                candidates.push(s.clone());
            }
        }
    }
    let sent = Sent {
        method: method.clone(),
        bits,
        candidates,
        csrf_header: sent_csrf,
    };
    let verified = check_pipeline(locate_subject(), req, &sent);
    let direct = (bits & 0x1F == 0).then_some(verified.is_some());
    check_route(make(), &sent, direct);
});
