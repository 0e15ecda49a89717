//! Where a write command's events go: the ledger this process opened (or
//! the ledger server lent), or a claims server (`--db http(s)://…`). The
//! commands resolve ids and append through it the same way for both.

use uuid::Uuid;

use claims_api::params::Appended;
use claims_core::query::Scope;
use claims_core::{ClaimHistory, Error, Incoming, Result};

use super::remote::Remote;
use super::LedgerRef;

/// A ledger to write to.
pub enum Target<'a> {
    /// Opened here.
    Local(LedgerRef<'a>),
    /// A claims server.
    Remote(&'a Remote),
}

/// A path segment, percent-encoded (an id prefix is the user's text).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `claim` or `id` field of an answer, as a UUID.
fn id_field(r: &Remote, v: &serde_json::Value, key: &str) -> Result<Uuid> {
    v.get(key)
        .and_then(|c| c.as_str())
        .and_then(|c| Uuid::parse_str(c).ok())
        .ok_or_else(|| r.garbled(format!("no `{key}` in the answer")))
}

impl Target<'_> {
    /// A claim id or unique prefix of one, resolved.
    pub fn resolve_claim(&self, prefix: &str) -> Result<Uuid> {
        match self {
            Target::Local(l) => l.resolve_claim(prefix),
            Target::Remote(r) => {
                let v: serde_json::Value =
                    r.get_json(&format!("/v1/claims/{}", segment(prefix)), &())?;
                id_field(r, &v, "claim")
            }
        }
    }

    /// An event id or unique prefix of one, resolved.
    pub fn resolve_event(&self, prefix: &str) -> Result<Uuid> {
        match self {
            Target::Local(l) => l.resolve_event(prefix),
            Target::Remote(r) => {
                let v: serde_json::Value =
                    r.get_json(&format!("/v1/events/{}", segment(prefix)), &())?;
                id_field(r, &v, "id")
            }
        }
    }

    /// Appends `events` all-or-nothing.
    pub fn append(
        &mut self,
        events: Vec<Incoming>,
        now: claims_core::time::Time,
    ) -> Result<Appended> {
        match self {
            Target::Local(l) => l.append(events, now).map(|r| Appended::of(&r)),
            Target::Remote(r) => {
                let mut body = Vec::new();
                for e in &events {
                    serde_json::to_writer(&mut body, &serde_json::Value::Object(e.event.to_json()))
                        .map_err(|e| {
                            Error::invalid(format!("an event does not write as JSON ({e})"))
                        })?;
                    body.push(b'\n');
                }
                r.post_for("/v1/events", "application/x-ndjson", &body)
                    .map_err(|e| strip_line(e, &events))
            }
        }
    }
}

/// The server numbers the lines of what it is sent; a command that sent
/// events of no file (`assert`, `void`, …) reports the error as a local one
/// does, without the number.
fn strip_line(e: Error, events: &[Incoming]) -> Error {
    if events.len() != 1 || events[0].line.is_some() {
        return e;
    }
    match e.message().strip_prefix("line 1: ") {
        Some(rest) => {
            let mut out = Error::new(e.kind(), rest.to_string());
            if let Some(h) = e.hint() {
                out = out.with_hint(h.clone());
            }
            out
        }
        None => e,
    }
}

/// A ledger to read whole histories from: opened here, or a server's.
pub enum Source<'a> {
    /// Opened here.
    Local(LedgerRef<'a>),
    /// A claims server.
    Remote(&'a Remote),
}

impl Source<'_> {
    /// A claim id or unique prefix of one, resolved.
    pub fn resolve_claim(&self, prefix: &str) -> Result<Uuid> {
        match self {
            Source::Local(l) => l.resolve_claim(prefix),
            Source::Remote(r) => Target::Remote(r).resolve_claim(prefix),
        }
    }

    /// The histories of `scope`'s claims, as `Ledger::histories` gives them.
    pub fn histories(&self, scope: &Scope) -> Result<Vec<ClaimHistory>> {
        match self {
            Source::Local(l) => l.histories(scope),
            Source::Remote(r) => {
                let claim = scope.claim.map(|c| c.to_string());
                super::answers::histories(r, scope.story.as_deref(), claim.as_deref())
            }
        }
    }
}
