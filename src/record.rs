//! A sealed log entry: an event with its `seq`, `recorded_at` and chain `hash`.
//!
//! The hash of entry `n` is SHA-256 over the hash of entry `n-1` (32 zero bytes
//! for the first) followed by the canonical JSON of entry `n` without its `hash`
//! field. See docs/format.md for the exact bytes.

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::event::{canonical_json, Event};
use crate::time::{parse_rfc3339, Time};

/// A SHA-256 chain hash.
pub type Hash = [u8; 32];

/// The `prev` hash of the first entry.
pub const GENESIS: Hash = [0; 32];

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Gapless global position, from 1.
    pub seq: u64,
    /// When the ledger learned it (microsecond precision, UTC).
    pub recorded_at: Time,
    /// The event.
    pub event: Event,
    /// The chain hash over the previous hash and this entry.
    pub hash: Hash,
}

/// Formats a recorded time: RFC 3339 UTC, always six fractional digits.
pub fn fmt_recorded(t: &Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Truncates a time to the microsecond precision recorded times are kept in.
pub fn truncate_micros(t: Time) -> Time {
    let micros = t.timestamp_micros();
    chrono::DateTime::<Utc>::from_timestamp_micros(micros).expect("in range")
}

impl Record {
    /// Seals `event` as entry `seq` after an entry whose hash is `prev`.
    pub fn seal(event: Event, seq: u64, recorded_at: Time, prev: &Hash) -> Record {
        let recorded_at = truncate_micros(recorded_at);
        let mut r = Record {
            seq,
            recorded_at,
            event,
            hash: [0; 32],
        };
        r.hash = r.compute_hash(prev);
        r
    }

    /// The hash this entry must have if the entry before it hashed to `prev`.
    pub fn compute_hash(&self, prev: &Hash) -> Hash {
        let mut bytes = Vec::with_capacity(512);
        canonical_json(&Value::Object(self.to_json_unhashed()), &mut bytes);
        let mut h = Sha256::new();
        h.update(prev);
        h.update(&bytes);
        h.finalize().into()
    }

    fn to_json_unhashed(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("seq".into(), self.seq.into());
        m.insert("recorded_at".into(), fmt_recorded(&self.recorded_at).into());
        for (k, v) in self.event.to_json() {
            m.insert(k, v);
        }
        m
    }

    /// The export form: the event with `seq`, `recorded_at` and `hash`.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = self.to_json_unhashed();
        m.insert("hash".into(), hex::encode(self.hash).into());
        m
    }

    /// One NDJSON line of `export` (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(&Value::Object(self.to_json())).expect("JSON of a record")
    }

    /// Parses an export line's JSON. The hash is read, not checked: the caller
    /// checks the chain.
    pub fn from_json(value: &Value) -> Result<Record> {
        const EXTRA: &[&str] = &["seq", "recorded_at", "hash"];
        let event = Event::from_json(value, EXTRA)?;
        let obj = value.as_object().expect("checked by Event::from_json");
        let seq = match obj.get("seq") {
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|s| *s >= 1)
                .ok_or_else(|| Error::invalid("field `seq` must be a whole number from 1"))?,
            Some(_) => return Err(Error::invalid("field `seq` must be a whole number from 1")),
            None => {
                return Err(Error::invalid(
                    "field `seq` is missing (is this an export line?)",
                ))
            }
        };
        let recorded_at = match obj.get("recorded_at") {
            Some(Value::String(s)) => parse_rfc3339(s)
                .map_err(|e| Error::invalid(format!("field `recorded_at`: {}", e.message())))?,
            Some(_) => {
                return Err(Error::invalid(
                    "field `recorded_at` must be an RFC 3339 string",
                ))
            }
            None => return Err(Error::invalid("field `recorded_at` is missing")),
        };
        let hash = match obj.get("hash") {
            Some(Value::String(s)) => {
                let mut h = [0u8; 32];
                hex::decode_to_slice(s, &mut h)
                    .map_err(|_| Error::invalid("field `hash` must be 64 hexadecimal digits"))?;
                h
            }
            Some(_) => return Err(Error::invalid("field `hash` must be a string")),
            None => return Err(Error::invalid("field `hash` is missing")),
        };
        Ok(Record {
            seq,
            recorded_at,
            event,
            hash,
        })
    }

    /// Encodes the entry as stored in the `log` tree (docs/format.md).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(400);
        out.push(ENCODING_JSON);
        serde_json::to_writer(&mut out, &Value::Object(self.to_json())).expect("JSON");
        out
    }

    /// Decodes a value of the `log` tree.
    pub fn decode(bytes: &[u8]) -> Result<Record> {
        match bytes.split_first() {
            Some((&ENCODING_JSON, json)) => {
                let v: Value = serde_json::from_slice(json).map_err(|e| {
                    Error::damaged(format!("a stored event is not valid JSON: {e}"))
                })?;
                Record::from_json(&v)
                    .map_err(|e| Error::damaged(format!("a stored event does not parse: {e}")))
            }
            Some((tag, _)) => Err(Error::damaged(format!(
                "a stored event has encoding tag {tag}, which this build does not know"
            ))
            .with_hint("upgrade claims to the version that wrote this ledger")),
            None => Err(Error::damaged("a stored event is empty")),
        }
    }
}

/// Tag byte of a log value holding UTF-8 JSON of the export form.
pub const ENCODING_JSON: u8 = 1;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Body, Voided};
    use uuid::Uuid;

    fn void(n: u128) -> Event {
        Event {
            id: Uuid::from_u128(n),
            body: Body::Voided(Voided {
                target: Uuid::from_u128(99),
                reason: "typo".into(),
            }),
        }
    }

    #[test]
    fn the_chain_links_each_hash_to_the_previous_one() {
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let a = Record::seal(void(1), 1, t, &GENESIS);
        let b = Record::seal(void(2), 2, t, &a.hash);
        assert_eq!(b.compute_hash(&a.hash), b.hash);
        assert_ne!(b.compute_hash(&GENESIS), b.hash);
        let mut edited = b.clone();
        edited.event = void(3);
        assert_ne!(edited.compute_hash(&a.hash), b.hash);
    }

    #[test]
    fn the_hash_of_a_known_entry_is_pinned() {
        // Pins the canonical encoding: changing it breaks every existing ledger.
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let a = Record::seal(void(1), 1, t, &GENESIS);
        let mut bytes = Vec::new();
        canonical_json(&Value::Object(a.to_json_unhashed()), &mut bytes);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"id":"00000000-0000-0000-0000-000000000001","kind":"voided","reason":"typo","recorded_at":"2026-01-01T00:00:00.000000Z","seq":1,"target":"00000000-0000-0000-0000-000000000063"}"#
        );
        let mut h = Sha256::new();
        h.update(GENESIS);
        h.update(br#"{"id":"00000000-0000-0000-0000-000000000001","kind":"voided","reason":"typo","recorded_at":"2026-01-01T00:00:00.000000Z","seq":1,"target":"00000000-0000-0000-0000-000000000063"}"#);
        let expected: Hash = h.finalize().into();
        assert_eq!(a.hash, expected);
    }

    #[test]
    fn encode_decode_round_trips() {
        let t = parse_rfc3339("2026-01-01T00:00:00.123456Z").unwrap();
        let a = Record::seal(void(1), 7, t, &GENESIS);
        assert_eq!(Record::decode(&a.encode()).unwrap(), a);
        assert_eq!(
            Record::from_json(&serde_json::from_str(&a.to_line()).unwrap()).unwrap(),
            a
        );
    }

    #[test]
    fn an_unknown_encoding_tag_is_refused_not_misread() {
        let e = Record::decode(&[9, b'{', b'}']).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Damaged);
    }
}
