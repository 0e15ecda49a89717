//! A sealed log entry: an event with its `seq`, `recorded_at`, the account
//! it was `recorded_by` (through the newsroom server) and chain `hash`.
//!
//! The hash of entry `n` is SHA-256 over the hash of entry `n-1` (32 zero bytes
//! for the first) followed by the canonical JSON of entry `n` without its `hash`
//! field. See docs/format.md for the exact bytes.

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Hint, Result};
use crate::event::Event;
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
    /// The name of the server account that appended it, set by the ledger
    /// like `recorded_at`; `None` for a local append (and every entry from
    /// before it existed). Covered by the hash when present.
    pub recorded_by: Option<String>,
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
    /// Seals `event` as entry `seq` after an entry whose hash is `prev`,
    /// with no `recorded_by` (a local append): [`Record::seal_as`] with `None`.
    pub fn seal(event: Event, seq: u64, recorded_at: Time, prev: &Hash) -> Record {
        Record::seal_as(event, seq, recorded_at, None, prev)
    }

    /// Seals `event` as entry `seq` after an entry whose hash is `prev`,
    /// recorded by the account `recorded_by` (if any).
    pub fn seal_as(
        event: Event,
        seq: u64,
        recorded_at: Time,
        recorded_by: Option<&str>,
        prev: &Hash,
    ) -> Record {
        let recorded_at = truncate_micros(recorded_at);
        let mut r = Record {
            seq,
            recorded_at,
            recorded_by: recorded_by.map(str::to_owned),
            event,
            hash: [0; 32],
        };
        r.hash = r.compute_hash(prev);
        r
    }

    /// Seals `events` as consecutive entries from `first_seq`, all recorded
    /// at `recorded_at`, chained from `prev`, with no `recorded_by`:
    /// [`Record::seal_all_as`] with `None`.
    pub fn seal_all(
        events: Vec<Event>,
        first_seq: u64,
        recorded_at: Time,
        prev: &Hash,
    ) -> Vec<Record> {
        Record::seal_all_as(events, first_seq, recorded_at, None, prev)
    }

    /// Seals `events` as consecutive entries from `first_seq`, all recorded
    /// at `recorded_at` by `recorded_by`, chained from `prev`: the same
    /// records as calling [`Record::seal_as`] on each in turn (a test holds
    /// the two together). A large batch writes the entries' canonical bytes
    /// on two threads; only the hashing itself, which chains, runs in order.
    pub fn seal_all_as(
        events: Vec<Event>,
        first_seq: u64,
        recorded_at: Time,
        recorded_by: Option<&str>,
        prev: &Hash,
    ) -> Vec<Record> {
        const CHUNK: usize = 8192;
        let recorded_at = truncate_micros(recorded_at);
        let mut records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                seq: first_seq + i as u64,
                recorded_at,
                recorded_by: recorded_by.map(str::to_owned),
                event,
                hash: [0; 32],
            })
            .collect();
        // Canonical bytes of a run of entries: one buffer and the end of each.
        fn canonical(part: &[Record]) -> (Vec<u8>, Vec<usize>) {
            let mut buf = Vec::with_capacity(part.len() * 400);
            let mut ends = Vec::with_capacity(part.len());
            for r in part {
                r.canonical_into(&mut buf);
                ends.push(buf.len());
            }
            (buf, ends)
        }
        let mut prev = *prev;
        for chunk in records.chunks_mut(CHUNK) {
            let (a, b) = chunk.split_at(chunk.len() / 2);
            let (first, second) = if chunk.len() == CHUNK {
                std::thread::scope(|s| {
                    let other = std::thread::Builder::new().spawn_scoped(s, || canonical(b));
                    let first = canonical(a);
                    let second = match other {
                        Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                        Err(_) => canonical(b),
                    };
                    (first, second)
                })
            } else {
                (canonical(a), canonical(b))
            };
            let mut hashes = Vec::with_capacity(chunk.len());
            for (buf, ends) in [&first, &second] {
                let mut start = 0;
                for &end in ends {
                    let mut h = Sha256::new();
                    h.update(prev);
                    h.update(&buf[start..end]);
                    prev = h.finalize().into();
                    hashes.push(prev);
                    start = end;
                }
            }
            for (r, h) in chunk.iter_mut().zip(hashes) {
                r.hash = h;
            }
        }
        records
    }

    /// The hash this entry must have if the entry before it hashed to `prev`.
    pub fn compute_hash(&self, prev: &Hash) -> Hash {
        let mut bytes = Vec::with_capacity(512);
        self.canonical_into(&mut bytes);
        let mut h = Sha256::new();
        h.update(prev);
        h.update(&bytes);
        h.finalize().into()
    }

    /// Writes `C`, the canonical JSON of the entry without its hash (the
    /// bytes the chain covers, docs/format.md), straight from the fields:
    /// the same bytes as `canonical_json` over [`Self::to_json_unhashed`]
    /// (a test holds the two together), without building a JSON value.
    pub fn canonical_into(&self, out: &mut Vec<u8>) {
        use crate::event::{Body, Wording};
        use crate::time::{fmt_time, Valid};
        fn key(out: &mut Vec<u8>, first: &mut bool, k: &str) {
            out.push(if *first { b'{' } else { b',' });
            *first = false;
            out.push(b'"');
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\":");
        }
        fn string(out: &mut Vec<u8>, s: &str) {
            serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
        }
        fn field(out: &mut Vec<u8>, first: &mut bool, k: &str, v: &str) {
            key(out, first, k);
            string(out, v);
        }
        fn opt(out: &mut Vec<u8>, first: &mut bool, k: &str, v: &Option<String>) {
            if let Some(v) = v {
                field(out, first, k, v);
            }
        }
        fn uuid(out: &mut Vec<u8>, first: &mut bool, k: &str, id: &uuid::Uuid) {
            key(out, first, k);
            out.push(b'"');
            let mut buf = uuid::Uuid::encode_buffer();
            out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
            out.push(b'"');
        }
        fn valid(out: &mut Vec<u8>, first: &mut bool, v: &Valid) {
            key(out, first, "valid");
            out.extend_from_slice(b"{\"from\":");
            string(out, &fmt_time(&v.from));
            if let Some(t) = &v.text {
                out.extend_from_slice(b",\"text\":");
                string(out, t);
            }
            out.extend_from_slice(b",\"to\":");
            string(out, &fmt_time(&v.to));
            out.push(b'}');
        }
        fn via(out: &mut Vec<u8>, first: &mut bool, w: &Wording) {
            if w.via.is_empty() {
                return;
            }
            key(out, first, "via");
            out.push(b'[');
            for (i, v) in w.via.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, v);
            }
            out.push(b']');
        }
        let f = &mut true;
        let kind = self.event.kind().as_str();
        let recorded = fmt_recorded(&self.recorded_at);
        // `recorded_at`, then `recorded_by` when present, then `seq`: the
        // three always come together in key order.
        let stamps = |out: &mut Vec<u8>, f: &mut bool| {
            field(out, f, "recorded_at", &recorded);
            opt(out, f, "recorded_by", &self.recorded_by);
            key(out, f, "seq");
            out.extend_from_slice(self.seq.to_string().as_bytes());
        };
        // Keys in UTF-8 byte order: by claim id kind lang note quote reason
        // recorded_at recorded_by seq source story supersedes target text
        // translation valid via.
        match &self.event.body {
            Body::Asserted(a) => {
                field(out, f, "by", &a.by);
                uuid(out, f, "claim", &a.claim);
                uuid(out, f, "id", &self.event.id);
                field(out, f, "kind", kind);
                opt(out, f, "lang", &a.wording.lang);
                opt(out, f, "quote", &a.wording.quote);
                stamps(out, f);
                opt(out, f, "source", &a.wording.source);
                field(out, f, "story", &a.story);
                if let Some(s) = &a.supersedes {
                    uuid(out, f, "supersedes", s);
                }
                field(out, f, "text", &a.text);
                opt(out, f, "translation", &a.wording.translation);
                valid(out, f, &a.valid);
                via(out, f, &a.wording);
            }
            Body::FollowedUp(x) => {
                field(out, f, "by", &x.by);
                uuid(out, f, "claim", &x.claim);
                uuid(out, f, "id", &self.event.id);
                field(out, f, "kind", kind);
                opt(out, f, "lang", &x.wording.lang);
                opt(out, f, "note", &x.note);
                opt(out, f, "quote", &x.wording.quote);
                opt(out, f, "reason", &x.reason);
                stamps(out, f);
                opt(out, f, "source", &x.wording.source);
                opt(out, f, "translation", &x.wording.translation);
                valid(out, f, &x.valid);
                via(out, f, &x.wording);
            }
            Body::Voided(v) => {
                uuid(out, f, "id", &self.event.id);
                field(out, f, "kind", kind);
                field(out, f, "reason", &v.reason);
                stamps(out, f);
                uuid(out, f, "target", &v.target);
            }
        }
        out.push(b'}');
    }

    fn to_json_unhashed(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("seq".into(), self.seq.into());
        m.insert("recorded_at".into(), fmt_recorded(&self.recorded_at).into());
        if let Some(by) = &self.recorded_by {
            m.insert("recorded_by".into(), by.clone().into());
        }
        for (k, v) in self.event.to_json() {
            m.insert(k, v);
        }
        m
    }

    /// The export form: the event with `seq`, `recorded_at`, `recorded_by`
    /// (when present) and `hash`.
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
        const EXTRA: &[&str] = &["seq", "recorded_at", "recorded_by", "hash"];
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
        let recorded_by = match obj.get("recorded_by") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                return Err(Error::invalid(
                    "field `recorded_by` must be the name of the account that entered the entry, a non-empty string",
                ))
            }
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
            recorded_by,
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

    /// Encodes the entry in the compact binary encoding (see docs/format.md),
    /// appending to `out`: tag 2 (format 2) without `recorded_by`, tag 3
    /// (format 5: the tag-2 layout, then the `recorded_by` string) with it,
    /// so that an entry without it keeps its bytes. The chain hash does not
    /// depend on the encoding: it covers the canonical JSON.
    pub fn encode_compact_into(&self, out: &mut Vec<u8>) {
        match &self.recorded_by {
            None => {
                out.push(ENCODING_COMPACT);
                compact::encode(self, out);
            }
            Some(by) => {
                out.push(ENCODING_COMPACT_BY);
                compact::encode(self, out);
                compact::encode_by(by, out);
            }
        }
    }

    /// The compact binary encoding of the entry (tag 2, or 3 with `recorded_by`).
    pub fn encode_compact(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.encode_compact_into(&mut out);
        out
    }

    /// Decodes a stored entry: tag 1 (JSON of the export form), tag 2 (the
    /// compact binary encoding) or tag 3 (the compact one with `recorded_by`).
    pub fn decode(bytes: &[u8]) -> Result<Record> {
        match bytes.split_first() {
            Some((&ENCODING_JSON, json)) => {
                let v: Value = serde_json::from_slice(json).map_err(|e| {
                    Error::damaged(format!("a stored event is not valid JSON: {e}"))
                })?;
                Record::from_json(&v)
                    .map_err(|e| Error::damaged(format!("a stored event does not parse: {e}")))
            }
            Some((&ENCODING_COMPACT, bin)) => compact::decode(bin, false).ok_or_else(|| {
                Error::damaged("a stored event in the compact encoding does not decode")
            }),
            Some((&ENCODING_COMPACT_BY, bin)) => compact::decode(bin, true).ok_or_else(|| {
                Error::damaged("a stored event in the compact encoding does not decode")
            }),
            Some((tag, _)) => Err(Error::damaged(format!(
                "a stored event has encoding tag {tag}, which this build does not know"
            ))
            .with_hint(Hint::UpgradeProgram)),
            None => Err(Error::damaged("a stored event is empty")),
        }
    }
}

/// Tag byte of a log value holding UTF-8 JSON of the export form.
pub const ENCODING_JSON: u8 = 1;

/// Tag byte of a stored entry in the compact binary encoding.
pub const ENCODING_COMPACT: u8 = 2;

/// Tag byte of a stored entry in the compact binary encoding followed by its
/// `recorded_by` (format 5): an entry without `recorded_by` is tag 2.
pub const ENCODING_COMPACT_BY: u8 = 3;

/// The compact binary encoding (tag 2): every field in a fixed order, no
/// names. Integers are LEB128 varints (signed ones zig-zag encoded), UUIDs
/// their 16 bytes, strings a varint byte length and UTF-8, an optional string
/// a varint of length + 1 (0: absent). docs/format.md pins the layout.
mod compact {
    use uuid::Uuid;

    use super::Record;
    use crate::event::{Asserted, Body, Event, FollowUp, FollowUpKind, Voided, Wording};
    use crate::time::{Time, Valid};

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn zigzag(out: &mut Vec<u8>, v: i64) {
        varint(out, ((v << 1) ^ (v >> 63)) as u64);
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        varint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    fn opt_string(out: &mut Vec<u8>, s: &Option<String>) {
        match s {
            None => out.push(0),
            Some(s) => {
                varint(out, s.len() as u64 + 1);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn time(out: &mut Vec<u8>, t: &Time) {
        zigzag(out, t.timestamp());
        varint(out, u64::from(t.timestamp_subsec_nanos()));
    }

    fn valid(out: &mut Vec<u8>, v: &Valid) {
        time(out, &v.from);
        time(out, &v.to);
        opt_string(out, &v.text);
    }

    fn wording(out: &mut Vec<u8>, w: &Wording) {
        opt_string(out, &w.quote);
        opt_string(out, &w.lang);
        opt_string(out, &w.translation);
        varint(out, w.via.len() as u64);
        for v in &w.via {
            string(out, v);
        }
        opt_string(out, &w.source);
    }

    /// Layout: seq, recorded_at (µs, signed), hash (32 B), id (16 B), kind
    /// (0 asserted, 1 corroborated, 2 disputed, 3 refuted, 4 retracted,
    /// 5 voided), then the kind's fields.
    pub(super) fn encode(r: &Record, out: &mut Vec<u8>) {
        varint(out, r.seq);
        zigzag(out, r.recorded_at.timestamp_micros());
        out.extend_from_slice(&r.hash);
        out.extend_from_slice(r.event.id.as_bytes());
        match &r.event.body {
            Body::Asserted(a) => {
                out.push(0);
                out.extend_from_slice(a.claim.as_bytes());
                string(out, &a.story);
                string(out, &a.by);
                string(out, &a.text);
                valid(out, &a.valid);
                wording(out, &a.wording);
                match a.supersedes {
                    None => out.push(0),
                    Some(s) => {
                        out.push(1);
                        out.extend_from_slice(s.as_bytes());
                    }
                }
            }
            Body::FollowedUp(f) => {
                out.push(match f.kind {
                    FollowUpKind::Corroborated => 1,
                    FollowUpKind::Disputed => 2,
                    FollowUpKind::Refuted => 3,
                    FollowUpKind::Retracted => 4,
                });
                out.extend_from_slice(f.claim.as_bytes());
                string(out, &f.by);
                valid(out, &f.valid);
                opt_string(out, &f.reason);
                opt_string(out, &f.note);
                wording(out, &f.wording);
            }
            Body::Voided(v) => {
                out.push(5);
                out.extend_from_slice(v.target.as_bytes());
                string(out, &v.reason);
            }
        }
    }

    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Some(a)
        }

        fn byte(&mut self) -> Option<u8> {
            self.bytes(1).map(|b| b[0])
        }

        fn varint(&mut self) -> Option<u64> {
            // Exactly as the writer makes them: no bits past 64, and no
            // padding (a last byte of zero after others), so that no two byte
            // strings read as the same value.
            let mut v = 0u64;
            for shift in (0..64).step_by(7) {
                let b = self.byte()?;
                let part = u64::from(b & 0x7f);
                if shift == 63 && part > 1 {
                    return None;
                }
                v |= part << shift;
                if b & 0x80 == 0 {
                    if shift > 0 && b == 0 {
                        return None;
                    }
                    return Some(v);
                }
            }
            None
        }

        fn zigzag(&mut self) -> Option<i64> {
            let v = self.varint()?;
            Some((v >> 1) as i64 ^ -((v & 1) as i64))
        }

        fn uuid(&mut self) -> Option<Uuid> {
            Uuid::from_slice(self.bytes(16)?).ok()
        }

        fn str_of(&mut self, len: u64) -> Option<String> {
            let b = self.bytes(usize::try_from(len).ok()?)?;
            std::str::from_utf8(b).ok().map(str::to_owned)
        }

        fn string(&mut self) -> Option<String> {
            let n = self.varint()?;
            self.str_of(n)
        }

        fn opt_string(&mut self) -> Option<Option<String>> {
            match self.varint()? {
                0 => Some(None),
                n => self.str_of(n - 1).map(Some),
            }
        }

        fn time(&mut self) -> Option<Time> {
            let secs = self.zigzag()?;
            let nanos = u32::try_from(self.varint()?)
                .ok()
                .filter(|n| *n < 2_000_000_000)?;
            Time::from_timestamp(secs, nanos)
        }

        fn valid(&mut self) -> Option<Valid> {
            let from = self.time()?;
            let to = self.time()?;
            let text = self.opt_string()?;
            (from <= to).then_some(Valid { from, to, text })
        }

        fn wording(&mut self) -> Option<Wording> {
            let quote = self.opt_string()?;
            let lang = self.opt_string()?;
            let translation = self.opt_string()?;
            let n = self.varint()?;
            let mut via = Vec::with_capacity(n.min(64) as usize);
            for _ in 0..n {
                via.push(self.string()?);
            }
            let source = self.opt_string()?;
            Some(Wording {
                quote,
                lang,
                translation,
                via,
                source,
            })
        }
    }

    /// What tag 3 adds after the tag-2 layout: the `recorded_by` string.
    pub(super) fn encode_by(by: &str, out: &mut Vec<u8>) {
        string(out, by);
    }

    /// Decodes a payload written by [`encode`] (and, `with_by`, followed by
    /// [`encode_by`]: a non-empty `recorded_by`); `None` if it is malformed
    /// in any way (trailing bytes included).
    pub(super) fn decode(bytes: &[u8], with_by: bool) -> Option<Record> {
        let mut r = Reader(bytes);
        let seq = r.varint()?;
        let recorded_at = Time::from_timestamp_micros(r.zigzag()?)?;
        let hash: [u8; 32] = r.bytes(32)?.try_into().ok()?;
        let id = r.uuid()?;
        let body = match r.byte()? {
            0 => Body::Asserted(Asserted {
                claim: r.uuid()?,
                story: r.string()?,
                by: r.string()?,
                text: r.string()?,
                valid: r.valid()?,
                wording: r.wording()?,
                supersedes: match r.byte()? {
                    0 => None,
                    1 => Some(r.uuid()?),
                    _ => return None,
                },
            }),
            k @ 1..=4 => Body::FollowedUp(FollowUp {
                kind: match k {
                    1 => FollowUpKind::Corroborated,
                    2 => FollowUpKind::Disputed,
                    3 => FollowUpKind::Refuted,
                    _ => FollowUpKind::Retracted,
                },
                claim: r.uuid()?,
                by: r.string()?,
                valid: r.valid()?,
                reason: r.opt_string()?,
                note: r.opt_string()?,
                wording: r.wording()?,
            }),
            5 => Body::Voided(Voided {
                target: r.uuid()?,
                reason: r.string()?,
            }),
            _ => return None,
        };
        let recorded_by = match with_by {
            false => None,
            true => Some(r.string().filter(|s| !s.is_empty())?),
        };
        if !r.0.is_empty() {
            return None;
        }
        Some(Record {
            seq,
            recorded_at,
            recorded_by,
            event: Event { id, body },
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::canonical_json;
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
    fn sealing_a_batch_gives_the_records_of_sealing_each_in_turn() {
        let t = parse_rfc3339("2026-01-01T00:00:00.1234567Z").unwrap();
        // Two whole chunks (sealed on two threads) and a part, and a small batch.
        for n in [20_000u128, 3] {
            let events: Vec<Event> = (1..=n)
                .map(|i| Event {
                    id: Uuid::from_u128(i),
                    body: Body::Voided(Voided {
                        target: Uuid::from_u128(99),
                        reason: format!("reason {i} \u{e6}\"\n"),
                    }),
                })
                .collect();
            let mut prev = [7u8; 32];
            let start = prev;
            let one_by_one: Vec<Record> = events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let r = Record::seal(e.clone(), 41 + i as u64, t, &prev);
                    prev = r.hash;
                    r
                })
                .collect();
            assert_eq!(
                Record::seal_all(events, 41, t, &start),
                one_by_one,
                "{n} events"
            );
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

    /// Regression: a leap second (23:59:60, kept by the parser) was written
    /// by the compact encoding but refused when read back.
    #[test]
    fn a_leap_second_round_trips_through_the_compact_encoding() {
        let line = r#"{"id":"0190a3b2-0000-7000-8000-000000000001","kind":"asserted","claim":"0190a3b2-0000-7000-8000-0000000000c1","story":"s","by":"A","text":"t","valid":{"from":"2016-12-31T23:59:60Z","to":"2016-12-31T23:59:60.5Z"}}"#;
        let e = Event::from_json(&serde_json::from_str(line).unwrap(), &[]).unwrap();
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let r = Record::seal(e, 1, t, &GENESIS);
        assert_eq!(Record::decode(&r.encode_compact()).unwrap(), r);
        assert_eq!(Record::decode(&r.encode()).unwrap(), r);
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

    /// Events with every optional field, characters that need escaping and
    /// fractional times, plus the seed story; every third entry recorded by
    /// an account.
    fn varied_records() -> Vec<Record> {
        let mut lines: Vec<String> = include_str!("../../../data/amazon-tiktok-2020-07.ndjson")
            .lines()
            .map(str::to_string)
            .collect();
        lines.push(r#"{"id":"0190a3b2-0000-7000-8000-0000000000a1","kind":"asserted","claim":"0190a3b2-0000-7000-8000-0000000000c9","story":"s-ø","by":"A \"B\"\tC\u0001","text":"å/\\ \u2028 x","valid":{"from":"2020-07-10T10:00:00.5+02:00","to":"2020-07-10T16:00:00.000001Z","text":"i\nmorges"},"quote":"q","lang":"nb","translation":"t","via":["R","B"],"source":"s","supersedes":"0190a3b2-0000-7000-8000-0000000000c1"}"#.into());
        lines.push(r#"{"id":"0190a3b2-0000-7000-8000-0000000000a2","kind":"corroborated","claim":"0190a3b2-0000-7000-8000-0000000000c9","by":"X","valid":{"from":"2020-07-11T00:00:00.000000100Z"},"note":"n","quote":"q","lang":"en","translation":"t","via":["V"],"source":"s"}"#.into());
        lines.push(r#"{"id":"0190a3b2-0000-7000-8000-0000000000a3","kind":"refuted","claim":"0190a3b2-0000-7000-8000-0000000000c9","by":"X","valid":{"from":"2020-07-11T00:00:00Z"},"reason":"r"}"#.into());
        lines.push(r#"{"id":"0190a3b2-0000-7000-8000-0000000000a4","kind":"voided","target":"0190a3b2-0000-7000-8000-0000000000a3","reason":"typo \"x\""}"#.into());
        let t = parse_rfc3339("2026-01-01T00:00:00.123456Z").unwrap();
        let mut prev = GENESIS;
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let event = Event::from_json(&serde_json::from_str(line).unwrap(), &[]).unwrap();
                let by = match i % 3 {
                    1 => Some("alice"),
                    2 if i % 2 == 0 => Some("b\"ob\u{e6}\n"),
                    _ => None,
                };
                let r = Record::seal_as(event, i as u64 + 1, t, by, &prev);
                prev = r.hash;
                r
            })
            .collect()
    }

    #[test]
    fn the_direct_canonical_writer_matches_canonical_json() {
        for r in varied_records() {
            let mut via_value = Vec::new();
            canonical_json(&Value::Object(r.to_json_unhashed()), &mut via_value);
            let mut direct = Vec::new();
            r.canonical_into(&mut direct);
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(via_value).unwrap()
            );
        }
    }

    /// The compact encoding reads back equal; truncated or extended, it is
    /// refused, never misread.
    fn assert_compact_round_trip(r: &Record) {
        let bytes = r.encode_compact();
        let tag = match r.recorded_by {
            None => ENCODING_COMPACT,
            Some(_) => ENCODING_COMPACT_BY,
        };
        assert_eq!(bytes[0], tag);
        assert_eq!(Record::decode(&bytes).unwrap(), *r);
        assert!(Record::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Record::decode(&longer).is_err());
    }

    #[test]
    fn the_compact_encoding_round_trips_every_kind() {
        for r in varied_records() {
            assert_compact_round_trip(&r);
        }
    }

    #[test]
    fn the_compact_encoding_round_trips_the_seed() {
        let text = include_str!("../../../data/amazon-tiktok-2020-07.ndjson");
        let t = parse_rfc3339("2026-01-01T00:00:00.123456Z").unwrap();
        let mut prev = GENESIS;
        for (i, line) in text.lines().enumerate() {
            let event = Event::from_json(&serde_json::from_str(line).unwrap(), &[]).unwrap();
            let r = Record::seal(event, i as u64 + 1, t, &prev);
            prev = r.hash;
            assert_compact_round_trip(&r);
        }
        let v = Record::seal(void(1), 7, t, &GENESIS);
        assert_eq!(Record::decode(&v.encode_compact()).unwrap(), v);
    }

    #[test]
    fn sealing_as_an_account_gives_each_entry_its_name() {
        let t = parse_rfc3339("2026-01-01T00:00:00.1234567Z").unwrap();
        let events: Vec<Event> = (1..=5).map(void).collect();
        let mut prev = [7u8; 32];
        let one_by_one: Vec<Record> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let r = Record::seal_as(e.clone(), 3 + i as u64, t, Some("alice"), &prev);
                prev = r.hash;
                r
            })
            .collect();
        let all = Record::seal_all_as(events.clone(), 3, t, Some("alice"), &[7u8; 32]);
        assert_eq!(all, one_by_one);
        assert!(all
            .iter()
            .all(|r| r.recorded_by.as_deref() == Some("alice")));
        // Without a name: exactly the records of `seal_all`.
        assert_eq!(
            Record::seal_all_as(events.clone(), 3, t, None, &[7u8; 32]),
            Record::seal_all(events, 3, t, &[7u8; 32])
        );
    }

    #[test]
    fn recorded_by_is_in_the_canonical_bytes_after_recorded_at() {
        // Entry A of the worked example (docs/format.md), recorded by alice.
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let a = Record::seal_as(void(1), 1, t, Some("alice"), &GENESIS);
        let c = r#"{"id":"00000000-0000-0000-0000-000000000001","kind":"voided","reason":"typo","recorded_at":"2026-01-01T00:00:00.000000Z","recorded_by":"alice","seq":1,"target":"00000000-0000-0000-0000-000000000063"}"#;
        let mut direct = Vec::new();
        a.canonical_into(&mut direct);
        assert_eq!(String::from_utf8(direct).unwrap(), c);
        let mut via_value = Vec::new();
        canonical_json(&Value::Object(a.to_json_unhashed()), &mut via_value);
        assert_eq!(String::from_utf8(via_value).unwrap(), c);
        let mut h = Sha256::new();
        h.update(GENESIS);
        h.update(c.as_bytes());
        let expected: Hash = h.finalize().into();
        assert_eq!(a.hash, expected);
        assert_eq!(
            hex::encode(a.hash),
            "70e6649183c9d78bd8f5144301a132a20c3f8e52174b96b106c1cd5bf5781c9c",
            "pinned in docs/format.md"
        );
        // Without the name, entry A's pinned hash.
        let plain = Record::seal_as(void(1), 1, t, None, &GENESIS);
        assert_eq!(
            hex::encode(plain.hash),
            "ad4596894f66eeb44ea16b178418750ef17fc266ca6e14526fafbba7fcc60d05"
        );
        assert_ne!(a.hash, plain.hash);
        // Its stored bytes (tag 3), as docs/format.md gives them.
        assert_eq!(
            hex::encode(a.encode_compact()),
            "0301808082e288d2a306\
             70e6649183c9d78bd8f5144301a132a20c3f8e52174b96b106c1cd5bf5781c9c\
             00000000000000000000000000000001050000000000000000000000000000006304\
             7479706f05616c696365"
        );
    }

    #[test]
    fn the_export_form_carries_recorded_by_after_recorded_at() {
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let a = Record::seal_as(void(1), 1, t, Some("alice"), &GENESIS);
        let line = a.to_line();
        assert!(
            line.starts_with(
                r#"{"seq":1,"recorded_at":"2026-01-01T00:00:00.000000Z","recorded_by":"alice","id":"#
            ),
            "{line}"
        );
        assert_eq!(
            Record::from_json(&serde_json::from_str(&line).unwrap()).unwrap(),
            a
        );
        assert_eq!(Record::decode(&a.encode()).unwrap(), a);
        // Without it, the export line has no such key.
        let plain = Record::seal(void(1), 1, t, &GENESIS);
        assert!(!plain.to_line().contains("recorded_by"));
    }

    #[test]
    fn an_import_refuses_a_recorded_by_that_is_not_a_name() {
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let a = Record::seal_as(void(1), 1, t, Some("alice"), &GENESIS);
        for bad in [
            serde_json::json!(""),
            serde_json::json!(7),
            serde_json::json!(["a"]),
        ] {
            let mut v = Value::Object(a.to_json());
            v["recorded_by"] = bad.clone();
            let e = Record::from_json(&v).unwrap_err();
            assert_eq!(
                e.message(),
                "field `recorded_by` must be the name of the account that entered the entry, a non-empty string",
                "{bad}"
            );
        }
        let mut v = Value::Object(a.to_json());
        v["recorded_by"] = Value::Null;
        assert_eq!(Record::from_json(&v).unwrap().recorded_by, None);
    }

    #[test]
    fn tag_3_is_tag_2_followed_by_the_name_and_refuses_an_empty_one() {
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let plain = Record::seal(void(1), 1, t, &GENESIS);
        let mut by = plain.clone();
        by.recorded_by = Some("alice".into());
        let two = plain.encode_compact();
        let three = by.encode_compact();
        assert_eq!(two[0], ENCODING_COMPACT);
        assert_eq!(three[0], ENCODING_COMPACT_BY);
        assert_eq!(three[1..two.len()], two[1..]);
        assert_eq!(&three[two.len()..], b"\x05alice");
        assert_eq!(Record::decode(&three).unwrap(), by);
        // A tag-3 entry must carry a name, and a non-empty one.
        let mut no_name = two.clone();
        no_name[0] = ENCODING_COMPACT_BY;
        assert!(Record::decode(&no_name).is_err());
        no_name.push(0);
        assert!(Record::decode(&no_name).is_err());
    }

    #[test]
    fn an_unknown_encoding_tag_is_refused_not_misread() {
        let e = Record::decode(&[9, b'{', b'}']).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Damaged);
    }
}
