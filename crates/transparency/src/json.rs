//! Reading hostile JSON: a size cap, and no object with the same key twice
//! (serde_json keeps the last silently, so what a reader sees and what is
//! checked could differ).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::Error;

/// The most bytes of a proof this crate reads (an inclusion proof with its
/// entry is a few kilobytes; an entry of the ledger can be larger).
pub const MAX_PROOF_BYTES: usize = 1 << 20;

/// Parses one JSON document of at most `cap` bytes, refusing an object with
/// a key twice. The error names what is wrong, not the input.
pub fn parse_strict(bytes: &[u8], cap: usize) -> Result<Value, Error> {
    if bytes.len() > cap {
        return Err(Error::invalid(format!(
            "it is more than {cap} bytes, larger than any proof"
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::invalid(format!(
            "it is not UTF-8 text (byte {} is not)",
            e.valid_up_to() + 1
        ))
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Strict::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| Error::invalid(format!("it is not one JSON document ({e})")))?;
    Ok(v.0)
}

/// A JSON value read with duplicate keys refused.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!("the key {k:?} appears twice")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_is_refused_at_any_depth() {
        assert!(parse_strict(br#"{"a":1,"a":2}"#, 100).is_err());
        assert!(parse_strict(br#"{"a":{"b":1,"b":1}}"#, 100).is_err());
        assert!(parse_strict(br#"[{"b":1},{"b":1}]"#, 100).is_ok());
    }

    #[test]
    fn caps_trailing_text_and_bad_utf8_are_refused() {
        assert!(parse_strict(b"{}", 1).is_err());
        assert!(parse_strict(b"{} {}", 100).is_err());
        assert!(parse_strict(b"{\"a\":\"\xff\"}", 100).is_err());
        assert!(parse_strict(b"", 100).is_err());
        // Deep nesting ends in serde_json's recursion limit, not a crash.
        let deep = "[".repeat(100_000);
        assert!(parse_strict(deep.as_bytes(), 1 << 20).is_err());
    }

    #[test]
    fn values_come_back_as_serde_json_reads_them() {
        let text = br#"{"x":[1,-2,3.5,"s",null,true],"y":{"z":18446744073709551615}}"#;
        let v = parse_strict(text, 1000).unwrap();
        let w: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(v, w);
    }
}
