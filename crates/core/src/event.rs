//! The event vocabulary (SPEC "Events"): past-tense kinds, strict parsing from
//! NDJSON, and the one JSON form every event is written in.
//!
//! Parsing is strict: an unknown kind or field is refused, each error names the
//! field. The JSON form omits absent optional fields, so parsing a written event
//! gives back an equal [`Event`].

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::time::{fmt_time, parse_rfc3339, Time, Valid};

/// The version of the event vocabulary this build writes and reads.
pub const EVENT_VERSION: u32 = 1;

/// One entry of the log: an id and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's own id (not the claim's).
    pub id: Uuid,
    /// What happened.
    pub body: Body,
}

/// What an event records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A new claim was made.
    Asserted(Asserted),
    /// Something happened to an existing claim.
    FollowedUp(FollowUp),
    /// A ledger entry was made in error (our mistake, not the world's).
    Voided(Voided),
}

/// The world-event kinds that act on an existing claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FollowUpKind {
    /// Someone else confirmed the claim.
    Corroborated,
    /// Someone contested the claim.
    Disputed,
    /// Someone showed the claim false.
    Refuted,
    /// The claimant's side withdrew the claim.
    Retracted,
}

impl FollowUpKind {
    /// The kind as one byte, as stores and digests keep it: 0 corroborated,
    /// 1 disputed, 2 refuted, 3 retracted.
    pub fn to_byte(self) -> u8 {
        match self {
            FollowUpKind::Corroborated => 0,
            FollowUpKind::Disputed => 1,
            FollowUpKind::Refuted => 2,
            FollowUpKind::Retracted => 3,
        }
    }

    /// The kind of a byte of [`FollowUpKind::to_byte`]; `None` for another.
    pub fn from_byte(b: u8) -> Option<FollowUpKind> {
        Some(match b {
            0 => FollowUpKind::Corroborated,
            1 => FollowUpKind::Disputed,
            2 => FollowUpKind::Refuted,
            3 => FollowUpKind::Retracted,
            _ => return None,
        })
    }
}

/// Every kind, as written in the `kind` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `asserted`
    Asserted,
    /// `corroborated`, `disputed`, `refuted`, `retracted`
    FollowUp(FollowUpKind),
    /// `voided`
    Voided,
}

impl Kind {
    /// The `kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Asserted => "asserted",
            Kind::FollowUp(FollowUpKind::Corroborated) => "corroborated",
            Kind::FollowUp(FollowUpKind::Disputed) => "disputed",
            Kind::FollowUp(FollowUpKind::Refuted) => "refuted",
            Kind::FollowUp(FollowUpKind::Retracted) => "retracted",
            Kind::Voided => "voided",
        }
    }

    /// Parses a `kind` string.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "asserted" => Kind::Asserted,
            "corroborated" => Kind::FollowUp(FollowUpKind::Corroborated),
            "disputed" => Kind::FollowUp(FollowUpKind::Disputed),
            "refuted" => Kind::FollowUp(FollowUpKind::Refuted),
            "retracted" => Kind::FollowUp(FollowUpKind::Retracted),
            "voided" => Kind::Voided,
            _ => return None,
        })
    }

    /// The fields an event of this kind may carry (besides `id` and `kind`).
    pub fn allowed_fields(self) -> &'static [&'static str] {
        const ASSERTED: &[&str] = &[
            "claim",
            "story",
            "by",
            "text",
            "valid",
            "quote",
            "lang",
            "translation",
            "via",
            "source",
            "supersedes",
        ];
        const CORROBORATED: &[&str] = &[
            "claim",
            "by",
            "valid",
            "via",
            "source",
            "note",
            "quote",
            "lang",
            "translation",
        ];
        const AGAINST: &[&str] = &[
            "claim",
            "by",
            "valid",
            "via",
            "source",
            "reason",
            "quote",
            "lang",
            "translation",
        ];
        const VOIDED: &[&str] = &["target", "reason"];
        match self {
            Kind::Asserted => ASSERTED,
            Kind::FollowUp(FollowUpKind::Corroborated) => CORROBORATED,
            Kind::FollowUp(_) => AGAINST,
            Kind::Voided => VOIDED,
        }
    }
}

/// Words of a statement as the source has them, shared by world events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wording {
    /// The original-language quote.
    pub quote: Option<String>,
    /// The quote's language tag (`nb`).
    pub lang: Option<String>,
    /// An English rendering of the quote.
    pub translation: Option<String>,
    /// The reporting chain, nearest to the claimant first.
    pub via: Vec<String>,
    /// The document the event was extracted from.
    pub source: Option<String>,
}

/// `asserted`: a new claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asserted {
    /// The claim's id.
    pub claim: Uuid,
    /// The story slug.
    pub story: String,
    /// Who made the claim.
    pub by: String,
    /// The proposition.
    pub text: String,
    /// When the claim was made.
    pub valid: Valid,
    /// Quote, language, translation, reporting chain and source.
    pub wording: Wording,
    /// An earlier claim this one replaces.
    pub supersedes: Option<Uuid>,
}

/// `corroborated`, `disputed`, `refuted` or `retracted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// Which of the four.
    pub kind: FollowUpKind,
    /// The claim it is about.
    pub claim: Uuid,
    /// Who made the statement.
    pub by: String,
    /// When it happened.
    pub valid: Valid,
    /// Why (disputed, refuted, retracted).
    pub reason: Option<String>,
    /// A note (corroborated).
    pub note: Option<String>,
    /// Quote, language, translation, reporting chain and source.
    pub wording: Wording,
}

/// `voided`: a ledger entry made in error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voided {
    /// The event id voided.
    pub target: Uuid,
    /// Why it was a mistake.
    pub reason: String,
}

impl Event {
    /// The kind of this event.
    pub fn kind(&self) -> Kind {
        match &self.body {
            Body::Asserted(_) => Kind::Asserted,
            Body::FollowedUp(f) => Kind::FollowUp(f.kind),
            Body::Voided(_) => Kind::Voided,
        }
    }

    /// The claim a world event is about (`None` for `voided`).
    pub fn claim(&self) -> Option<Uuid> {
        match &self.body {
            Body::Asserted(a) => Some(a.claim),
            Body::FollowedUp(f) => Some(f.claim),
            Body::Voided(_) => None,
        }
    }

    /// When a world event happened (`None` for `voided`).
    pub fn valid(&self) -> Option<&Valid> {
        match &self.body {
            Body::Asserted(a) => Some(&a.valid),
            Body::FollowedUp(f) => Some(&f.valid),
            Body::Voided(_) => None,
        }
    }

    /// Who made the statement (`None` for `voided`).
    pub fn by(&self) -> Option<&str> {
        match &self.body {
            Body::Asserted(a) => Some(&a.by),
            Body::FollowedUp(f) => Some(&f.by),
            Body::Voided(_) => None,
        }
    }

    /// The event as a JSON object, fields in a fixed, readable order.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.to_string()));
        m.insert("kind".into(), self.kind().as_str().into());
        let put = |m: &mut Map<String, Value>, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.clone()));
            }
        };
        match &self.body {
            Body::Asserted(a) => {
                m.insert("claim".into(), a.claim.to_string().into());
                m.insert("story".into(), a.story.clone().into());
                m.insert("by".into(), a.by.clone().into());
                m.insert("text".into(), a.text.clone().into());
                m.insert("valid".into(), valid_json(&a.valid));
                wording_json(&mut m, &a.wording);
                if let Some(s) = a.supersedes {
                    m.insert("supersedes".into(), s.to_string().into());
                }
            }
            Body::FollowedUp(f) => {
                m.insert("claim".into(), f.claim.to_string().into());
                m.insert("by".into(), f.by.clone().into());
                m.insert("valid".into(), valid_json(&f.valid));
                put(&mut m, "reason", &f.reason);
                put(&mut m, "note", &f.note);
                wording_json(&mut m, &f.wording);
            }
            Body::Voided(v) => {
                m.insert("target".into(), v.target.to_string().into());
                m.insert("reason".into(), v.reason.clone().into());
            }
        }
        m
    }

    /// Parses one event as `append` takes it. `extra` lists fields that the caller
    /// handles itself (`import` passes `seq`, `recorded_at`, `recorded_by`,
    /// `hash`); they are skipped here rather than refused. Errors name the
    /// field.
    pub fn from_json(value: &Value, extra: &[&str]) -> Result<Event> {
        let obj = value
            .as_object()
            .ok_or_else(|| Error::invalid("expected a JSON object for the event"))?;
        let kind_str = match obj.get("kind") {
            None => return Err(field_err("kind", "is missing")),
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(field_err("kind", "must be a string")),
        };
        let kind = Kind::parse(kind_str).ok_or_else(|| {
            field_err(
                "kind",
                &format!("is `{kind_str}`, which is not an event kind (asserted, corroborated, disputed, refuted, retracted, voided)"),
            )
        })?;
        for key in obj.keys() {
            let known =
                key == "id" || key == "kind" || kind.allowed_fields().contains(&key.as_str());
            if !known {
                if extra.contains(&key.as_str()) {
                    continue;
                }
                let why = if ["seq", "recorded_at", "recorded_by", "hash"].contains(&key.as_str()) {
                    "is set by the ledger; only an import of an export takes it".to_string()
                } else {
                    format!(
                        "is not a field of {} `{kind_str}` event",
                        if kind_str.starts_with(['a', 'e', 'i', 'o', 'u']) {
                            "an"
                        } else {
                            "a"
                        }
                    )
                };
                return Err(field_err(key, &why));
            }
        }
        let f = Fields(obj);
        let id = match obj.get("id") {
            None | Some(Value::Null) => return Err(field_err("id", "is missing")),
            Some(_) => f.uuid("id")?,
        };
        let body = match kind {
            Kind::Asserted => Body::Asserted(Asserted {
                claim: f.uuid("claim")?,
                story: f.slug("story")?,
                by: f.text("by")?,
                text: f.text("text")?,
                valid: f.valid()?,
                wording: f.wording()?,
                supersedes: f.opt_uuid("supersedes")?,
            }),
            Kind::FollowUp(k) => Body::FollowedUp(FollowUp {
                kind: k,
                claim: f.uuid("claim")?,
                by: f.text("by")?,
                valid: f.valid()?,
                reason: f.opt_text("reason")?,
                note: f.opt_text("note")?,
                wording: f.wording()?,
            }),
            Kind::Voided => Body::Voided(Voided {
                target: f.uuid("target")?,
                reason: f.text("reason")?,
            }),
        };
        Ok(Event { id, body })
    }
}

impl Event {
    /// Checks the rules an event must keep on its own, whoever built it: no
    /// empty or blank text field, a slug without spaces, `from <= to`.
    /// [`Event::from_json`] applies the same rules while parsing.
    pub fn validate(&self) -> Result<()> {
        let text = |field: &str, v: &str| {
            if v.trim().is_empty() {
                Err(field_err(field, "must not be empty or blank"))
            } else {
                Ok(())
            }
        };
        let opt = |field: &str, v: &Option<String>| v.as_deref().map_or(Ok(()), |v| text(field, v));
        let wording = |w: &Wording| -> Result<()> {
            opt("quote", &w.quote)?;
            opt("lang", &w.lang)?;
            opt("translation", &w.translation)?;
            opt("source", &w.source)?;
            w.via.iter().try_for_each(|v| {
                text("via", v)
                    .map_err(|_| field_err("via", "must not hold an empty or blank outlet"))
            })
        };
        let valid = |v: &Valid| -> Result<()> {
            if v.from > v.to {
                return Err(field_err(
                    "valid",
                    &format!(
                        "starts after it ends (from {} > to {})",
                        fmt_time(&v.from),
                        fmt_time(&v.to)
                    ),
                ));
            }
            opt("valid.text", &v.text)
        };
        match &self.body {
            Body::Asserted(a) => {
                text("story", &a.story)?;
                if a.story.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(field_err(
                        "story",
                        "must be a slug without spaces (e.g. amazon-tiktok-2020-07)",
                    ));
                }
                text("by", &a.by)?;
                text("text", &a.text)?;
                valid(&a.valid)?;
                wording(&a.wording)
            }
            Body::FollowedUp(f) => {
                text("by", &f.by)?;
                opt("reason", &f.reason)?;
                opt("note", &f.note)?;
                valid(&f.valid)?;
                wording(&f.wording)
            }
            Body::Voided(v) => text("reason", &v.reason),
        }
    }
}

fn valid_json(v: &Valid) -> Value {
    let mut m = Map::new();
    m.insert("from".into(), fmt_time(&v.from).into());
    m.insert("to".into(), fmt_time(&v.to).into());
    if let Some(t) = &v.text {
        m.insert("text".into(), t.clone().into());
    }
    Value::Object(m)
}

fn wording_json(m: &mut Map<String, Value>, w: &Wording) {
    for (k, v) in [
        ("quote", &w.quote),
        ("lang", &w.lang),
        ("translation", &w.translation),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.clone().into());
        }
    }
    if !w.via.is_empty() {
        m.insert(
            "via".into(),
            Value::Array(w.via.iter().cloned().map(Value::String).collect()),
        );
    }
    if let Some(s) = &w.source {
        m.insert("source".into(), s.clone().into());
    }
}

fn field_err(field: &str, what: &str) -> Error {
    Error::invalid(format!("field `{field}` {what}"))
}

/// Typed access to the fields of one event object, with field-naming errors.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(field_err(key, "must be a string")),
        }
    }

    fn text(&self, key: &str) -> Result<String> {
        self.opt_text(key)?
            .ok_or_else(|| field_err(key, "is missing"))
    }

    fn opt_text(&self, key: &str) -> Result<Option<String>> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Err(field_err(key, "must not be empty or blank")),
            Some(s) => Ok(Some(s.to_string())),
        }
    }

    fn slug(&self, key: &str) -> Result<String> {
        let s = self.text(key)?;
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(field_err(
                key,
                "must be a slug without spaces (e.g. amazon-tiktok-2020-07)",
            ));
        }
        Ok(s)
    }

    fn uuid(&self, key: &str) -> Result<Uuid> {
        self.opt_uuid(key)?
            .ok_or_else(|| field_err(key, "is missing"))
    }

    fn opt_uuid(&self, key: &str) -> Result<Option<Uuid>> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => Uuid::parse_str(s)
                .map(Some)
                .map_err(|_| field_err(key, &format!("`{s}` is not a UUID"))),
        }
    }

    fn wording(&self) -> Result<Wording> {
        let via = match self.0.get("via") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                    Value::String(_) => {
                        Err(field_err("via", "must not hold an empty or blank outlet"))
                    }
                    _ => Err(field_err("via", "must be an array of strings")),
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(field_err("via", "must be an array of strings")),
        };
        Ok(Wording {
            quote: self.opt_text("quote")?,
            lang: self.opt_text("lang")?,
            translation: self.opt_text("translation")?,
            via,
            source: self.opt_text("source")?,
        })
    }

    fn valid(&self) -> Result<Valid> {
        let obj = match self.0.get("valid") {
            None | Some(Value::Null) => return Err(field_err("valid", "is missing")),
            Some(Value::Object(o)) => o,
            Some(_) => {
                return Err(field_err(
                    "valid",
                    "must be an object {\"from\":..,\"to\":..,\"text\":..}",
                ))
            }
        };
        for key in obj.keys() {
            if !["from", "to", "text"].contains(&key.as_str()) {
                return Err(field_err(
                    &format!("valid.{key}"),
                    "is not a field of `valid` (from, to, text)",
                ));
            }
        }
        let time = |key: &str| -> Result<Option<Time>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => parse_rfc3339(s)
                    .map(Some)
                    .map_err(|e| Error::invalid(format!("field `valid.{key}`: {}", e.message()))),
                Some(_) => Err(field_err(
                    &format!("valid.{key}"),
                    "must be an RFC 3339 string",
                )),
            }
        };
        let from = time("from")?.ok_or_else(|| field_err("valid.from", "is missing"))?;
        let to = time("to")?.unwrap_or(from);
        if from > to {
            return Err(field_err(
                "valid",
                &format!(
                    "starts after it ends (from {} > to {})",
                    fmt_time(&from),
                    fmt_time(&to)
                ),
            ));
        }
        let text = match obj.get("text") {
            None | Some(Value::Null) => None,
            // One rule for every optional text: blank is refused, not dropped.
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(field_err("valid.text", "must not be empty or blank"))
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(field_err("valid.text", "must be a string")),
        };
        Ok(Valid { from, to, text })
    }
}

/// Parses one line of JSON like `serde_json::from_str`, except that an object
/// naming the same key twice is refused (serde_json would keep the last value,
/// while another reader may keep the first: the ledger must not guess).
pub fn parse_json_strict(text: &str) -> std::result::Result<Value, serde_json::Error> {
    use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

    struct Strict(Value);

    impl<'de> Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            d.deserialize_any(StrictVisitor)
        }
    }

    struct StrictVisitor;

    impl<'de> Visitor<'de> for StrictVisitor {
        type Value = Strict;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> std::result::Result<Strict, E> {
            Ok(Strict(Value::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> std::result::Result<Strict, E> {
            Ok(Strict(Value::from(v)))
        }
        fn visit_u64<E>(self, v: u64) -> std::result::Result<Strict, E> {
            Ok(Strict(Value::from(v)))
        }
        fn visit_f64<E>(self, v: f64) -> std::result::Result<Strict, E> {
            Ok(Strict(
                serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
            ))
        }
        fn visit_str<E>(self, v: &str) -> std::result::Result<Strict, E> {
            Ok(Strict(Value::String(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> std::result::Result<Strict, E> {
            Ok(Strict(Value::String(v)))
        }
        fn visit_unit<E>(self) -> std::result::Result<Strict, E> {
            Ok(Strict(Value::Null))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Strict, A::Error> {
            let mut out = Vec::new();
            while let Some(Strict(v)) = seq.next_element()? {
                out.push(v);
            }
            Ok(Strict(Value::Array(out)))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Strict, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(A::Error::custom(format!("field `{key}` appears twice")));
                }
                let Strict(v) = map.next_value()?;
                out.insert(key, v);
            }
            Ok(Strict(Value::Object(out)))
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    let Strict(v) = Strict::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Writes a JSON value canonically: object keys sorted by their UTF-8 bytes at
/// every level, no insignificant white space, strings escaped as serde_json does.
/// This is the byte string the hash chain covers (see docs/format.md).
pub fn canonical_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k).expect("writing to a Vec cannot fail");
                out.push(b':');
                canonical_json(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(v, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Event> {
        Event::from_json(&v, &[])
    }

    fn asserted() -> Value {
        json!({"id":"0190a3b2-0000-7000-8000-000000000001","kind":"asserted",
            "claim":"0190a3b2-0000-7000-8000-0000000000c1","story":"s","by":"Amazon",
            "text":"Staff must delete TikTok","valid":{"from":"2020-07-10T10:00:00Z","to":"2020-07-10T16:00:00Z","text":"i morges"},
            "quote":"Hvis du har Tiktok","lang":"nb","translation":"If you have TikTok","via":["Reuters"],"source":"article"})
    }

    #[test]
    fn an_event_round_trips_through_its_json_form() {
        let e = parse(asserted()).unwrap();
        let again = parse(Value::Object(e.to_json())).unwrap();
        assert_eq!(e, again);
        assert_eq!(Value::Object(e.to_json()), asserted());
    }

    #[test]
    fn unknown_kind_is_refused_naming_the_field() {
        let mut v = asserted();
        v["kind"] = json!("confirmed");
        let e = parse(v).unwrap_err();
        assert!(e.message().starts_with("field `kind`"), "{e}");
    }

    #[test]
    fn unknown_and_ledger_fields_are_refused() {
        for key in [
            "colour",
            "seq",
            "recorded_at",
            "recorded_by",
            "hash",
            "target",
        ] {
            let mut v = asserted();
            v[key] = json!(1);
            let e = parse(v).unwrap_err();
            assert!(e.message().contains(&format!("`{key}`")), "{key}: {e}");
        }
        let mut v = asserted();
        v["valid"]["when"] = json!("x");
        assert!(parse(v).unwrap_err().message().contains("valid.when"));
    }

    #[test]
    fn recorded_by_is_refused_on_append_like_recorded_at() {
        let mut v = asserted();
        v["recorded_by"] = json!("alice");
        let e = parse(v).unwrap_err();
        assert_eq!(
            e.message(),
            "field `recorded_by` is set by the ledger; only an import of an export takes it"
        );
    }

    #[test]
    fn import_fields_are_skipped_when_the_caller_takes_them() {
        let mut v = asserted();
        v["seq"] = json!(1);
        assert!(Event::from_json(&v, &["seq"]).is_ok());
    }

    #[test]
    fn blank_required_text_is_refused() {
        for key in ["by", "text"] {
            let mut v = asserted();
            v[key] = json!("  ");
            let e = parse(v).unwrap_err();
            assert!(
                e.message().contains(&format!("`{key}` must not be empty")),
                "{e}"
            );
        }
        let v = json!({"id":"0190a3b2-0000-7000-8000-000000000002","kind":"voided",
            "target":"0190a3b2-0000-7000-8000-000000000001","reason":""});
        assert!(parse(v).unwrap_err().message().contains("`reason`"));
    }

    #[test]
    fn missing_required_fields_are_named() {
        for key in ["id", "claim", "story", "by", "text", "valid"] {
            let mut v = asserted();
            v.as_object_mut().unwrap().remove(key);
            let e = parse(v).unwrap_err();
            assert!(
                e.message().contains(&format!("`{key}` is missing")),
                "{key}: {e}"
            );
        }
    }

    #[test]
    fn wrong_types_are_refused() {
        for (key, bad) in [
            ("by", json!(3)),
            ("via", json!("Reuters")),
            ("claim", json!("nope")),
            ("valid", json!("2020")),
        ] {
            let mut v = asserted();
            v[key] = bad;
            assert!(parse(v).is_err(), "{key}");
        }
    }

    #[test]
    fn backwards_valid_interval_is_refused() {
        let mut v = asserted();
        v["valid"] = json!({"from":"2020-07-11T00:00:00Z","to":"2020-07-10T00:00:00Z"});
        assert!(parse(v)
            .unwrap_err()
            .message()
            .contains("starts after it ends"));
    }

    #[test]
    fn missing_to_means_an_instant() {
        let mut v = asserted();
        v["valid"] = json!({"from":"2020-07-10T00:00:00+02:00"});
        let e = parse(v).unwrap();
        let valid = e.valid().unwrap();
        assert_eq!(valid.from, valid.to);
    }

    #[test]
    fn strict_json_refuses_a_key_given_twice_at_any_depth() {
        let e = parse_json_strict(r#"{"by":"Nobody","by":"TikTok"}"#).unwrap_err();
        assert!(e.to_string().contains("field `by` appears twice"), "{e}");
        let e = parse_json_strict(r#"{"valid":{"from":"a","from":"b"}}"#).unwrap_err();
        assert!(e.to_string().contains("`from` appears twice"), "{e}");
        let text = r#"{"a":[1,-2,3.5,true,null,"x",{"b":{}}],"c":18446744073709551615}"#;
        assert_eq!(
            parse_json_strict(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert!(parse_json_strict(r#"{"a":1} x"#).is_err());
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(
            parse_json_strict(&deep).is_err(),
            "the recursion limit still applies"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut out = Vec::new();
        canonical_json(&json!({"b":1,"a":{"d":[1,"x"],"c":null}}), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":{"c":null,"d":[1,"x"]},"b":1}"#
        );
    }
}
