//! Token parts as JSON: strict objects (unique names, RFC 7515 §4 / RFC 7519 §4) and the
//! one-pass reading of a claims payload into what the pipeline needs.
//!
//! [`read_payload`] accepts and refuses exactly what [`parse_object`] does, with the same
//! messages (every value is parsed as fully as for a map, only not kept), but builds no map: it
//! records the [`ClaimFacts`] as the names go by and keeps the text, which
//! [`TokenParts`](crate::vocabulary::TokenParts) parses into a map only if something asks for the
//! claims. The tests hold the two readers to the same answers.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::vocabulary::{ClaimFacts, Freshness, JsonObject, JwtError, NumericDate, TypeClaim};

/// A JSON object whose keys are unique: RFC 7515 §4 and RFC 7519 §4 allow rejecting duplicates,
/// and a last-wins map would let a second `"type"` hide behind the first.
struct StrictObject(JsonObject);

impl<'de> serde::Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a json object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = JsonObject::new();
                while let Some((key, value)) = access.next_entry::<String, Value>()? {
                    // One hash per key: the entry both detects the duplicate and inserts.
                    match map.entry(key) {
                        serde_json::map::Entry::Occupied(e) => {
                            return Err(serde::de::Error::custom(format!(
                                "duplicate key '{}'",
                                e.key()
                            )))
                        }
                        serde_json::map::Entry::Vacant(e) => {
                            e.insert(value);
                        }
                    }
                }
                Ok(StrictObject(map))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JOSE header or claims payload as a strict JSON object (PyJWT's messages).
pub(crate) fn parse_object(bytes: &[u8], what: &str) -> Result<JsonObject, JwtError> {
    serde_json::from_slice::<StrictObject>(bytes)
        .map(|StrictObject(map)| map)
        .map_err(|e| refusal(&e, what))
}

/// PyJWT's message for a part that is not a JSON object.
fn refusal(e: &serde_json::Error, what: &str) -> JwtError {
    if e.is_data() && e.to_string().starts_with("invalid type") {
        JwtError::invalid(format!("Invalid {what} string: must be a json object"))
    } else {
        JwtError::invalid(format!("Invalid {what} string: {e}"))
    }
}

/// A claims payload read in one pass: checked as [`parse_object`] checks it, its facts read for
/// the claims named `identity_claim` and the library's own, its text kept for later.
pub(crate) fn read_payload(
    bytes: Vec<u8>,
    identity_claim: &str,
) -> Result<(String, ClaimFacts), JwtError> {
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let facts = FactsReader(identity_claim)
        .deserialize(&mut de)
        .and_then(|facts| de.end().map(|()| facts))
        .map_err(|e| refusal(&e, "payload"))?;
    // Every string of an accepted document was checked to be UTF-8; the rest is ASCII.
    let text = String::from_utf8(bytes)
        .map_err(|_| JwtError::invalid("Invalid payload string: not UTF-8"))?;
    Ok((text, facts))
}

/// Reads the top-level object: names must be unique; the values the facts need are parsed into
/// `Value`s and observed, the others parsed and dropped.
struct FactsReader<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for FactsReader<'_> {
    type Value = ClaimFacts;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ClaimFacts, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FactsReader<'_> {
    type Value = ClaimFacts;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a json object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ClaimFacts, A::Error> {
        let mut facts = ClaimFacts::new(self.0);
        let mut names: Vec<Cow<'de, str>> = Vec::with_capacity(16);
        while let Some(Name(name)) = access.next_key()? {
            if name == self.0 || name == "cnf" {
                // The identity is kept as a `Value` (it may be an object); so is `cnf` (an
                // object whose `jkt` binds the token to a DPoP key).
                let value: Value = access.next_value()?;
                refuse_repeated(&names, &name)?;
                facts.observe(&name, &value);
            } else if facts.wants(&name) {
                let value: Scalar = access.next_value()?;
                refuse_repeated(&names, &name)?;
                observe(&mut facts, &name, value);
            } else {
                access.next_value::<Checked>()?;
                refuse_repeated(&names, &name)?;
            }
            names.push(name);
        }
        Ok(facts)
    }
}

/// [`ClaimFacts::observe`] for a claim read as a [`Scalar`] (not the identity claim): the same
/// facts, without building a `Value` (the tests compare the two).
fn observe(facts: &mut ClaimFacts, name: &str, value: Scalar<'_>) {
    let date = |value: &Scalar<'_>| match value {
        Scalar::Number(f) if f.is_finite() => NumericDate::At(f.trunc()),
        _ => NumericDate::Invalid,
    };
    match name {
        "iat" => facts.iat = date(&value),
        "nbf" => facts.nbf = date(&value),
        "exp" => facts.exp = date(&value),
        "sub" => facts.sub_not_string = !matches!(value, Scalar::Str(_)),
        "jti" => match value {
            Scalar::Str(jti) => facts.jti = Some(jti.into()),
            _ => facts.jti_not_string = true,
        },
        "type" => {
            if let Scalar::Str(kind) = value {
                facts.token_type = TypeClaim::of(&kind);
            }
        }
        "fresh" => {
            facts.fresh = match value {
                Scalar::Bool(fresh) => Freshness::Flag(fresh),
                Scalar::Number(until) => Freshness::Until(until),
                _ => Freshness::Flag(false),
            }
        }
        _ => {}
    }
}

/// The duplicate-name error [`StrictObject`] gives, at the same place (after the value).
fn refuse_repeated<E: serde::de::Error>(names: &[Cow<'_, str>], name: &str) -> Result<(), E> {
    if names.iter().any(|known| known == name) {
        return Err(E::custom(format!("duplicate key '{name}'")));
    }
    Ok(())
}

/// An object member's name, borrowed from the payload when it has no escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A claim's value as the facts need it: strings borrowed from the payload when they have no
/// escapes, numbers as `f64` (what `Value::as_f64` gives), arrays and objects checked as
/// [`Checked`] and not kept.
enum Scalar<'de> {
    Bool(bool),
    Number(f64),
    Str(Cow<'de, str>),
    Other,
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Number(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, items: A) -> Result<Scalar<'de>, A::Error> {
                CheckedVisitor.visit_seq(items).map(|_| Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, members: A) -> Result<Scalar<'de>, A::Error> {
                CheckedVisitor.visit_map(members).map(|_| Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value, parsed exactly as into a `Value` (strings unescaped and checked, numbers
/// read, nested objects and arrays walked) but not kept. Unlike `serde::de::IgnoredAny`, which
/// lets serde_json skip over a value without checking all of it.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Checked, A::Error> {
        while items.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Checked, A::Error> {
        // Nested objects are last-wins in a `Value` too: no duplicate check here.
        while members.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What each reader says of a payload: the facts (the map reader's through
    /// `ClaimFacts::read`) and the text, or the refusal's message.
    fn both(bytes: &[u8]) -> (Result<ClaimFacts, String>, Result<ClaimFacts, String>) {
        both_with(bytes, "sub")
    }

    fn both_with(
        bytes: &[u8],
        identity: &str,
    ) -> (Result<ClaimFacts, String>, Result<ClaimFacts, String>) {
        let map = parse_object(bytes, "payload")
            .map(|claims| ClaimFacts::read(&claims, identity))
            .map_err(|e| e.to_string());
        let one_pass = read_payload(bytes.to_vec(), identity)
            .map(|(text, facts)| {
                // The kept text parses into the same map as the strict reader's.
                let strict = parse_object(bytes, "payload").unwrap_or_default();
                let later: JsonObject = serde_json::from_str(&text).unwrap_or_default();
                assert_eq!(
                    later, strict,
                    "the kept text must parse into the same claims"
                );
                facts
            })
            .map_err(|e| e.to_string());
        (map, one_pass)
    }

    fn member() -> impl Strategy<Value = String> {
        let names = prop::sample::select(vec![
            "iat",
            "nbf",
            "exp",
            "sub",
            "jti",
            "type",
            "fresh",
            "csrf",
            "x",
            r"\u0074ype",
            r"s\u0075b",
            r"\ud800",
            "é",
            "",
        ]);
        let values = prop::sample::select(vec![
            "1",
            "1.5",
            "-1",
            "-0.5",
            "1e309",
            "4102444800.5",
            "18446744073709551616",
            "-9223372036854775809",
            r#""a""#,
            r#""access""#,
            r#""refresh""#,
            "false",
            r#""\ud800""#,
            r#""\u00e9""#,
            r#""\x""#,
            "\"\u{1}\"",
            "true",
            "null",
            "[]",
            r#"[1,{"a":1,"a":2}]"#,
            r#"{"b":[null]}"#,
            "{",
            "01",
            "-",
            "tru",
        ]);
        (names, values).prop_map(|(n, v)| format!(r#""{n}":{v}"#))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn the_one_pass_reader_agrees_with_the_map(
            members in prop::collection::vec(member(), 0..6),
            shape in prop::sample::select(vec!["{}", "[]", "{} x", " {} ", "{}}", "\"s\""]),
            bad_byte in any::<bool>(),
            // `sub` read as the identity (a `Value`) or as a fact of its own (a `Scalar`).
            identity in prop::sample::select(vec!["sub", "x", "jti"]),
        ) {
            let object = format!("{{{}}}", members.join(","));
            let mut bytes = shape.replace("{}", &object).into_bytes();
            if bad_byte {
                // Not UTF-8, inside the first string when there is one.
                let at = bytes.iter().position(|b| *b == b'"').map_or(0, |i| i + 1);
                bytes.insert(at.min(bytes.len()), 0xff);
            }
            let (map, one_pass) = both_with(&bytes, identity);
            prop_assert_eq!(map, one_pass);
        }
    }

    #[test]
    fn duplicates_are_refused_by_both_with_the_same_message() {
        for payload in [
            r#"{"type":"access","type":"refresh"}"#,
            r#"{"type":"access","\u0074ype":"refresh"}"#,
            r#"{"x":1,"x":[2]}"#,
        ] {
            let (map, one_pass) = both(payload.as_bytes());
            assert!(map.is_err(), "{payload}");
            assert_eq!(map, one_pass);
        }
        // Nested objects are last-wins for both.
        let (map, one_pass) = both(br#"{"sub":"a","x":{"y":1,"y":2}}"#);
        assert!(map.is_ok());
        assert_eq!(map, one_pass);
    }

    #[test]
    fn values_nobody_keeps_are_still_checked() {
        // serde's IgnoredAny would let these through: a lone surrogate and an out-of-range
        // number in a claim the facts do not read.
        for payload in [r#"{"x":"\ud800"}"#, r#"{"x":1e309}"#, r#"{"x":["\ud800"]}"#] {
            let (map, one_pass) = both(payload.as_bytes());
            assert!(map.is_err(), "{payload}");
            assert_eq!(map, one_pass);
        }
    }
}
