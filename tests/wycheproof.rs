//! Project Wycheproof JOSE vectors run through the project's own JWS verifier
//! (`jwt_runtime::__private::verify_jws_with_key`: split, strict base64url, header rules, pinned
//! algorithm, signature).
//!
//! The vectors are in `tests/vectors/wycheproof-jose/` (provenance, sha256 and the known label
//! problems in its README; override the directory with `WYCHEPROOF_JOSE_DIR`). The algorithm is
//! pinned to the KEY's `alg`, never taken from the token header; the
//! key is built with `DecodingKey::from_jwk`; the payloads are raw bytes, not claim sets, so only
//! the JWS layer is exercised here.
//!
//! The project loads its keys from PEM and secrets, not from JWKs, so the checks a JWK consumer
//! must make before trusting a key (`use`, `key_ops`, `alg`/`kty`/`crv` consistency, HMAC key
//! length, unique `kid`s) live in this harness ([`verification_key`], [`verification_key_set`]).
//! The summaries count separately what those rules rejected and what the verifier rejected.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// JWS-file vectors labelled "valid" that a strict verifier must nevertheless reject, each with
/// the reason, which the test re-checks on the vector itself (so the list cannot silently hide
/// something else).
const VALID_BUT_MUST_REJECT: &[(u64, Override)] = &[
    // RFC 7520 Figure 20: the group's key says `"alg":"PS256"` but the token is PS384. A verifier
    // that pins the key's algorithm (RFC 8725 §3.1) refuses the header's `alg`.
    (346, Override::HeaderAlgIsNotKeyAlg),
    // Same as tc346, with `key_ops: ["verify"]` on the key.
    (350, Override::HeaderAlgIsNotKeyAlg),
    // A `?` inside the header segment. RFC 7515 §2 / RFC 7519 require base64url without other
    // characters; lenient decoders skip it, this verifier (rightly) does not.
    (372, Override::NotBase64url),
    // A `?` inside the payload segment; as tc372.
    (373, Override::NotBase64url),
];

/// JWS-file vectors labelled "invalid" that are byte-identical to the valid tc357 (upstream data
/// bug, C2SP/wycheproof#236): a correct verifier must accept them, so they are excluded from the
/// "no invalid vector is accepted" assertion. The test checks the byte-identity itself.
const MISLABELLED_INVALID: &[u64] = &[367, 370];
const MISLABELLED_TWIN: u64 = 357;

/// Key-file vectors that are invalid because of a key weakness nothing here detects; the test
/// checks the vector's `comment` so the exclusion cannot drift to another vector.
const UNDETECTED_KEY_WEAKNESS: &[(u64, &str)] = &[
    // A 2049-bit RSA modulus with the ROCA structure (CVE-2017-15361). Detecting it needs the
    // ROCA fingerprint test, which neither jsonwebtoken, aws-lc-rs nor this project performs; the
    // signature itself is genuine, so the verifier accepts it.
    (7, "rejectsKeyWithRocaVulnerability"),
];

#[derive(Debug, Clone, Copy)]
enum Override {
    HeaderAlgIsNotKeyAlg,
    NotBase64url,
}

/// Why no verification key can be built from a JWK.
#[derive(Debug)]
enum KeyProblem {
    /// The key's `alg` is missing, or names an algorithm `jsonwebtoken` does not implement.
    UnsupportedAlg(String),
    /// The key is not usable for verification: wrong `use`/`key_ops`, inconsistent with its
    /// `alg`, too short, or refused by `jsonwebtoken`.
    Unusable(String),
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::UnsupportedAlg(s) => write!(f, "unsupported alg: {s}"),
            KeyProblem::Unusable(s) => write!(f, "unusable key: {s}"),
        }
    }
}

type VerificationKey = Result<(Algorithm, DecodingKey), KeyProblem>;

fn fixture_dir() -> PathBuf {
    match std::env::var_os("WYCHEPROOF_JOSE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/wycheproof-jose"),
    }
}

fn load(name: &str) -> Value {
    let path = fixture_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the Wycheproof fixture {} ({e}); set WYCHEPROOF_JOSE_DIR to the \
             directory holding the wycheproof-jose files",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the Wycheproof fixture {} is not JSON: {e}", path.display()))
}

fn groups<'a>(file: &'a Value, name: &str) -> &'a [Value] {
    file["testGroups"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} has no testGroups array"))
}

fn tests_of(group: &Value) -> &[Value] {
    group["tests"]
        .as_array()
        .expect("every Wycheproof test group has a tests array")
}

fn tc_id(test: &Value) -> u64 {
    test["tcId"]
        .as_u64()
        .expect("every Wycheproof test has a numeric tcId")
}

fn label(test: &Value) -> &str {
    test["result"]
        .as_str()
        .expect("every Wycheproof test has a result")
}

fn comment(test: &Value) -> &str {
    test["comment"].as_str().unwrap_or("")
}

fn install_crypto_provider() {
    // The manager installs the process-wide jsonwebtoken crypto provider, as in production.
    jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("x".repeat(32)))
        .expect("a default config with a 32-byte secret builds a JwtManager");
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// RFC 7518 §3.2: an HMAC key MUST be at least as long as the hash output.
fn hmac_min_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::HS256 => Some(32),
        Algorithm::HS384 => Some(48),
        Algorithm::HS512 => Some(64),
        _ => None,
    }
}

/// The verification key and pinned algorithm for one JWK, with the checks a careful JWK consumer
/// makes before trusting a key (RFC 7517 §4.2–4.4, RFC 7518 §3): `use` must be `sig`, `key_ops`
/// must allow `verify`, `alg` must be present (it pins the algorithm), `kty` (and `crv` for EC)
/// must match that algorithm, and an HMAC key must be as long as the hash output.
fn verification_key(jwk: &Value) -> VerificationKey {
    if let Some(usage) = jwk.get("use")
        && usage.as_str() != Some("sig")
    {
        return Err(KeyProblem::Unusable(format!("use is {usage}, not \"sig\"")));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let allows_verify = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o == "verify"));
        if !allows_verify {
            return Err(KeyProblem::Unusable(format!(
                "key_ops {ops} does not allow verify"
            )));
        }
    }
    let alg_name = str_field(jwk, "alg")
        .ok_or_else(|| KeyProblem::UnsupportedAlg("the key has no alg to pin".into()))?;
    let alg = Algorithm::from_str(alg_name)
        .map_err(|_| KeyProblem::UnsupportedAlg(alg_name.to_string()))?;
    let (kty, crv) = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => ("oct", None),
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => ("RSA", None),
        Algorithm::ES256 => ("EC", Some("P-256")),
        Algorithm::ES384 => ("EC", Some("P-384")),
        Algorithm::EdDSA => ("OKP", Some("Ed25519")),
        _ => return Err(KeyProblem::UnsupportedAlg(alg_name.to_string())),
    };
    if str_field(jwk, "kty") != Some(kty) {
        return Err(KeyProblem::Unusable(format!(
            "alg {alg_name} needs kty {kty}"
        )));
    }
    if crv.is_some() && str_field(jwk, "crv") != crv {
        return Err(KeyProblem::Unusable(format!(
            "alg {alg_name} needs crv {crv:?}"
        )));
    }
    if let Some(min) = hmac_min_len(alg) {
        let len = str_field(jwk, "k")
            .and_then(|k| URL_SAFE_NO_PAD.decode(k).ok())
            .map(|k| k.len());
        if len.is_none_or(|len| len < min) {
            return Err(KeyProblem::Unusable(format!(
                "HMAC key of {len:?} bytes, {alg_name} needs at least {min} (RFC 7518 §3.2)"
            )));
        }
    }
    let parsed: Jwk = serde_json::from_value(jwk.clone())
        .map_err(|e| KeyProblem::Unusable(format!("jsonwebtoken cannot parse the JWK: {e}")))?;
    let key = DecodingKey::from_jwk(&parsed)
        .map_err(|e| KeyProblem::Unusable(format!("jsonwebtoken refuses the JWK: {e}")))?;
    Ok((alg, key))
}

/// The JWK a verifier of a JWS-file group holds: the public key, or the secret for HMAC groups.
fn group_jwk(group: &Value) -> Result<&Value, KeyProblem> {
    if let Some(public) = group.get("public").filter(|p| !p.is_null()) {
        return Ok(public);
    }
    match group.get("private") {
        Some(private) if str_field(private, "kty") == Some("oct") => Ok(private),
        _ => Err(KeyProblem::Unusable(
            "asymmetric group without a public key".into(),
        )),
    }
}

/// The keys a verifier of a key-file group holds (its public JWK Set, or the private one for
/// symmetric groups), or why the set as a whole is refused: duplicate `kid`s make key selection
/// ambiguous (RFC 7517 §4.5), and a set mixing symmetric and asymmetric keys is the
/// algorithm-confusion setup Wycheproof flags `MixedKeySet`.
fn verification_key_set(group: &Value) -> Result<Vec<VerificationKey>, String> {
    let (set, private_only) = match group.get("public").filter(|p| !p.is_null()) {
        Some(public) => (public, false),
        None => (&group["private"], true),
    };
    let keys = set["keys"]
        .as_array()
        .ok_or("the JWK Set has no keys array")?;
    let mut kids = HashSet::new();
    for kid in keys.iter().filter_map(|k| str_field(k, "kid")) {
        if !kids.insert(kid) {
            return Err(format!(
                "duplicate kid {kid:?} in the JWK Set (RFC 7517 §4.5)"
            ));
        }
    }
    let symmetric = keys
        .iter()
        .filter(|k| str_field(k, "kty") == Some("oct"))
        .count();
    if symmetric != 0 && symmetric != keys.len() {
        return Err("the JWK Set mixes symmetric and asymmetric keys".into());
    }
    Ok(keys
        .iter()
        .map(|jwk| {
            if private_only && str_field(jwk, "kty") != Some("oct") {
                Err(KeyProblem::Unusable(
                    "asymmetric key without a public key".into(),
                ))
            } else {
                verification_key(jwk)
            }
        })
        .collect())
}

fn header_alg(jws: &str) -> Option<String> {
    let segment = jws.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header.get("alg")?.as_str().map(str::to_string)
}

fn override_holds(reason: Override, jws: &str, key_alg: Option<Algorithm>) -> bool {
    match reason {
        Override::HeaderAlgIsNotKeyAlg => match (header_alg(jws), key_alg) {
            (Some(header), Some(key)) => header != format!("{key:?}"),
            _ => false,
        },
        Override::NotBase64url => !jws
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
    }
}

/// What became of one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The verifier accepted it and returned the payload segment, decoded.
    Accepted,
    /// The verifier accepted it but returned some other payload.
    AcceptedWrongPayload,
    /// The verifier rejected it.
    RejectedByVerifier,
    /// It never reached the verifier: no usable key, or not a compact string.
    RejectedBeforeVerifier,
}

impl Outcome {
    fn accepted(self) -> bool {
        matches!(self, Outcome::Accepted | Outcome::AcceptedWrongPayload)
    }
}

struct Verdict {
    outcome: Outcome,
    detail: String,
}

impl Verdict {
    fn before(detail: impl Into<String>) -> Self {
        Verdict {
            outcome: Outcome::RejectedBeforeVerifier,
            detail: detail.into(),
        }
    }
}

/// Runs one vector through the project's verifier with one key. A non-string `jws` or a key that
/// cannot be used is never accepted.
fn run_vector(jws: &Value, key: &VerificationKey) -> Verdict {
    let Some(jws) = jws.as_str() else {
        return Verdict::before("jws is not a string");
    };
    let (alg, key) = match key {
        Ok(pair) => pair,
        Err(problem) => return Verdict::before(problem.to_string()),
    };
    match jwt_runtime::__private::verify_jws_with_key(jws, *alg, key) {
        Ok((_header, payload)) => {
            let segment = jws.split('.').nth(1).unwrap_or_default();
            if URL_SAFE_NO_PAD
                .decode(segment)
                .is_ok_and(|expected| expected == payload)
            {
                Verdict {
                    outcome: Outcome::Accepted,
                    detail: "accepted".into(),
                }
            } else {
                Verdict {
                    outcome: Outcome::AcceptedWrongPayload,
                    detail: "accepted, but the returned payload is not the payload segment".into(),
                }
            }
        }
        Err(e) => Verdict {
            outcome: Outcome::RejectedByVerifier,
            detail: format!("rejected: {e}"),
        },
    }
}

/// Runs one vector against every key of a set: accepted if any key accepts it (the most
/// permissive selection, so "not accepted" holds for any `kid`-based selection too).
fn run_vector_with_set(jws: &Value, keys: &Result<Vec<VerificationKey>, String>) -> Verdict {
    let keys = match keys {
        Ok(keys) => keys,
        Err(problem) => return Verdict::before(format!("key set refused: {problem}")),
    };
    let verdicts: Vec<Verdict> = keys.iter().map(|key| run_vector(jws, key)).collect();
    let details = || {
        verdicts
            .iter()
            .map(|v| v.detail.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let outcome = [
        Outcome::AcceptedWrongPayload,
        Outcome::Accepted,
        Outcome::RejectedByVerifier,
        Outcome::RejectedBeforeVerifier,
    ]
    .into_iter()
    .find(|o| verdicts.iter().any(|v| v.outcome == *o))
    .unwrap_or(Outcome::RejectedBeforeVerifier);
    Verdict {
        outcome,
        detail: if verdicts.is_empty() {
            "empty key set".into()
        } else {
            details()
        },
    }
}

fn is_json_serialization(test: &Value) -> bool {
    let flagged = test["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f == "JsonSerialization"));
    flagged || !test["jws"].is_string() || test["jws"].as_str().is_some_and(|s| s.starts_with('{'))
}

/// Tallies shared by both files.
#[derive(Default)]
struct Tally {
    total: u64,
    invalid_rejected_by_verifier: u64,
    invalid_rejected_by_key_rules: u64,
    valid_accepted: u64,
    valid_skipped_alg: u64,
    valid_skipped_key: u64,
    failures: Vec<String>,
}

impl Tally {
    fn invalid_rejected(&self) -> u64 {
        self.invalid_rejected_by_verifier + self.invalid_rejected_by_key_rules
    }

    /// The ordinary rule: an invalid vector is never accepted; a valid vector with a usable key
    /// is accepted; a valid vector without one is counted as skipped.
    fn record(&mut self, test: &Value, verdict: &Verdict, key_problem: Option<&KeyProblem>) {
        match (label(test), verdict.outcome) {
            ("invalid", o) if o.accepted() => {
                self.fail(test, verdict, "an invalid vector was ACCEPTED")
            }
            ("invalid", Outcome::RejectedByVerifier) => self.invalid_rejected_by_verifier += 1,
            ("invalid", _) => self.invalid_rejected_by_key_rules += 1,
            ("valid", Outcome::Accepted) => self.valid_accepted += 1,
            ("valid", Outcome::AcceptedWrongPayload) => self.fail(test, verdict, "wrong payload"),
            ("valid", _) => match key_problem {
                Some(KeyProblem::UnsupportedAlg(_)) => self.valid_skipped_alg += 1,
                Some(KeyProblem::Unusable(_)) => self.valid_skipped_key += 1,
                None => self.fail(test, verdict, "a valid vector was rejected"),
            },
            (other, _) => self.fail(test, verdict, &format!("unknown result label {other:?}")),
        }
    }

    fn fail(&mut self, test: &Value, verdict: &Verdict, what: &str) {
        self.failures.push(format!(
            "tc{} ({}, labelled {}): {what}; verifier said: {}",
            tc_id(test),
            comment(test),
            label(test),
            verdict.detail
        ));
    }

    fn assert_no_failures(&self, file: &str) {
        assert!(
            self.failures.is_empty(),
            "{} failures in {file}:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

#[test]
fn wycheproof_json_web_signature_vectors() {
    install_crypto_provider();
    let name = "json_web_signature_test.json";
    let file = load(name);
    let groups = groups(&file, name);
    let declared = file["numberOfTests"]
        .as_u64()
        .expect("the file declares numberOfTests");

    let twin_jws = groups
        .iter()
        .flat_map(tests_of)
        .find(|t| tc_id(t) == MISLABELLED_TWIN)
        .and_then(|t| t["jws"].as_str())
        .expect("tc357 (the valid twin of tc367/tc370) is in the file");

    let mut tally = Tally::default();
    let (mut overrides_rejected, mut mislabelled_excluded, mut json_serialization) =
        (0u64, 0u64, 0u64);

    for group in groups {
        let key = group_jwk(group).and_then(verification_key);
        let key_alg = key.as_ref().ok().map(|(alg, _)| *alg);
        for test in tests_of(group) {
            tally.total += 1;
            let id = tc_id(test);
            let verdict = run_vector(&test["jws"], &key);

            if is_json_serialization(test) {
                json_serialization += 1;
                if verdict.outcome.accepted() {
                    tally.fail(test, &verdict, "a JSON-serialized JWS was accepted");
                    continue;
                }
            }

            if let Some((_, reason)) = VALID_BUT_MUST_REJECT.iter().find(|(t, _)| *t == id) {
                let jws = test["jws"].as_str().unwrap_or_default();
                if label(test) != "valid" || !override_holds(*reason, jws, key_alg) {
                    tally.fail(
                        test,
                        &verdict,
                        &format!("the override {reason:?} does not apply"),
                    );
                } else if verdict.outcome != Outcome::RejectedByVerifier {
                    tally.fail(
                        test,
                        &verdict,
                        &format!("the verifier must reject it ({reason:?})"),
                    );
                } else {
                    overrides_rejected += 1;
                }
                continue;
            }

            if MISLABELLED_INVALID.contains(&id) {
                if test["jws"].as_str() != Some(twin_jws) {
                    tally.fail(
                        test,
                        &verdict,
                        "not byte-identical to tc357; revisit the exclusion",
                    );
                } else if verdict.outcome != Outcome::Accepted {
                    tally.fail(
                        test,
                        &verdict,
                        "identical to the valid tc357, yet not accepted",
                    );
                } else {
                    mislabelled_excluded += 1;
                }
                continue;
            }

            tally.record(test, &verdict, key.as_ref().err());
        }
    }

    println!(
        "wycheproof jws: {} vectors; {} invalid rejected ({} by the verifier, {} by the key rules), \
         {} valid accepted, {} valid skipped (unsupported alg), {} valid skipped (unusable key); \
         {overrides_rejected} labelled-valid rejected by design (tc346/350/372/373), \
         {mislabelled_excluded} mislabelled invalid excluded (tc367/370 = tc357); \
         {json_serialization} JSON-serialization vector(s), none accepted",
        tally.total,
        tally.invalid_rejected(),
        tally.invalid_rejected_by_verifier,
        tally.invalid_rejected_by_key_rules,
        tally.valid_accepted,
        tally.valid_skipped_alg,
        tally.valid_skipped_key,
    );
    tally.assert_no_failures(name);
    assert_eq!(tally.total, declared, "every declared vector was run");
    assert!(
        tally.invalid_rejected() >= 350,
        "too few invalid vectors checked"
    );
    assert!(
        tally.invalid_rejected_by_verifier >= 340,
        "too few invalid vectors reached the verifier"
    );
    assert!(tally.valid_accepted >= 40, "too few valid vectors accepted");
    assert!(
        json_serialization >= 1,
        "the JSON-serialization vector was not found"
    );
    assert_eq!(overrides_rejected, VALID_BUT_MUST_REJECT.len() as u64);
    assert_eq!(mislabelled_excluded, MISLABELLED_INVALID.len() as u64);
}

/// The key file holds JWK Sets, and most of its invalid vectors carry a genuine signature under a
/// key that must not be trusted (short or empty HMAC keys, 1024-bit RSA, `e = 1`, wrong `crv`,
/// `use: "enc"`, duplicate `kid`s, a mixed set). A vector counts as accepted if any key of the
/// set, once through the key rules, makes the verifier accept it.
#[test]
fn wycheproof_json_web_key_vectors() {
    install_crypto_provider();
    let name = "json_web_key_test.json";
    let file = load(name);
    let groups = groups(&file, name);
    let declared = file["numberOfTests"]
        .as_u64()
        .expect("the file declares numberOfTests");

    let mut tally = Tally::default();
    let mut undetected = Vec::new();
    let mut secrets_checked = 0u64;

    for group in groups {
        let keys = verification_key_set(group);
        check_secret_policy_agrees(group, &mut tally, &mut secrets_checked);
        for test in tests_of(group) {
            tally.total += 1;
            let id = tc_id(test);
            let verdict = run_vector_with_set(&test["jws"], &keys);

            if let Some((_, expected_comment)) =
                UNDETECTED_KEY_WEAKNESS.iter().find(|(t, _)| *t == id)
            {
                if label(test) != "invalid" || comment(test) != *expected_comment {
                    tally.fail(
                        test,
                        &verdict,
                        "the undetected-weakness exclusion does not apply",
                    );
                } else {
                    undetected.push(format!("tc{id} {}", verdict.detail));
                }
                continue;
            }

            // No key set in this file is refused for an unsupported algorithm alone, so a valid
            // vector without a usable key is a failure here, not a skip.
            tally.record(test, &verdict, None);
        }
    }

    println!(
        "wycheproof jwk: {} vectors; {} invalid rejected ({} by the verifier, {} by the key \
         rules), {} valid accepted; {} known-undetected weak key(s) excluded ({}); {} HMAC \
         secrets cross-checked against JwtManager with JWT_STRICT_KEY_LENGTH",
        tally.total,
        tally.invalid_rejected(),
        tally.invalid_rejected_by_verifier,
        tally.invalid_rejected_by_key_rules,
        tally.valid_accepted,
        undetected.len(),
        undetected.join("; "),
        secrets_checked,
    );
    tally.assert_no_failures(name);
    assert_eq!(tally.total, declared, "every declared vector was run");
    assert!(
        tally.invalid_rejected() >= 20,
        "too few invalid vectors checked"
    );
    assert!(tally.valid_accepted >= 5, "too few valid vectors accepted");
    assert!(secrets_checked >= 9, "too few HMAC secrets cross-checked");
    assert_eq!(undetected.len(), UNDETECTED_KEY_WEAKNESS.len());
}

/// The harness's HMAC length rule (RFC 7518 §3.2) must agree with the project's own secret
/// policy in strict mode (`JWT_STRICT_KEY_LENGTH`): for every HMAC key of the group that the
/// config can hold (a UTF-8 string), `JwtManager::new` accepts it exactly when the rule does.
fn check_secret_policy_agrees(group: &Value, tally: &mut Tally, checked: &mut u64) {
    let keys = group["private"]["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for jwk in keys {
        let (Some(alg), Some(k)) = (str_field(jwk, "alg"), str_field(jwk, "k")) else {
            continue;
        };
        let Some(min) = Algorithm::from_str(alg).ok().and_then(hmac_min_len) else {
            continue;
        };
        let Some(secret) = URL_SAFE_NO_PAD
            .decode(k)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            continue;
        };
        *checked += 1;
        let mut config = jwt_runtime::JwtConfig::default().with_secret(secret.clone());
        config.algorithm = alg.to_string();
        config.strict_key_length = true;
        let project_accepts = jwt_runtime::JwtManager::new(config).is_ok();
        if project_accepts != (secret.len() >= min) {
            tally.failures.push(format!(
                "{alg} secret of {} bytes (kid {:?}): JwtManager {} it in strict mode, RFC 7518 \
                 §3.2 says {}",
                secret.len(),
                str_field(jwk, "kid"),
                if project_accepts {
                    "accepts"
                } else {
                    "refuses"
                },
                if secret.len() >= min {
                    "accept"
                } else {
                    "refuse"
                },
            ));
        }
    }
}
