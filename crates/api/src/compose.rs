//! The events the write commands build from what a person typed:
//! `assert`, `corroborate | dispute | refute | retract` and `void`. The CLI
//! fills these inputs from its options, the web page's forms from their
//! fields, and both build the event here, in two steps: [`check`] the
//! typed values (before any ledger is opened), then name the claim or event
//! they refer to (a prefix the caller resolves against its ledger) and build
//! the [`Event`]. So both refuse the same input with the same sentence,
//! naming the option (`--at`, `--by`, …) as the CLI does.
//!
//! New ids are the caller's: this crate draws no randomness.
//!
//! [`check`]: AssertInput::check

use chrono_tz::Tz;
use uuid::Uuid;

use claims_core::event::{Asserted, Body, Event, FollowUp, FollowUpKind, Voided, Wording};
use claims_core::time::{parse_valid, Valid};
use claims_core::{Error, Result};

/// Refuses a blank value of a required option.
pub fn required(flag: &str, value: String) -> Result<String> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{flag} must not be empty or blank")));
    }
    Ok(value)
}

/// Refuses a blank value of an optional option.
pub fn optional(flag: &str, value: Option<String>) -> Result<Option<String>> {
    value.map(|v| required(flag, v)).transpose()
}

/// The valid time from `--at` (read in `tz`) and `--said` (a blank `--said`
/// is refused, as every blank text is).
pub fn valid_of(at: &str, said: Option<String>, tz: &Tz) -> Result<Valid> {
    let (from, to) = parse_valid(at, tz).map_err(|e| e.context("--at"))?;
    Ok(Valid {
        from,
        to,
        text: optional("--said", said)?,
    })
}

/// The wording shared by every world event: quote, language, translation,
/// reporting chain and source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordingInput {
    /// `--quote`.
    pub quote: Option<String>,
    /// `--lang`.
    pub lang: Option<String>,
    /// `--translation`.
    pub translation: Option<String>,
    /// `--via`, nearest to the claimant first.
    pub via: Vec<String>,
    /// `--source`.
    pub source: Option<String>,
}

impl WordingInput {
    /// The wording fields, refusing blank values.
    pub fn build(self) -> Result<Wording> {
        Ok(Wording {
            quote: optional("--quote", self.quote)?,
            lang: optional("--lang", self.lang)?,
            translation: optional("--translation", self.translation)?,
            via: self
                .via
                .into_iter()
                .map(|v| required("--via", v))
                .collect::<Result<_>>()?,
            source: optional("--source", self.source)?,
        })
    }
}

/// What `claims assert` takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssertInput {
    /// `--story`.
    pub story: String,
    /// `--by`.
    pub by: String,
    /// `--text`.
    pub text: String,
    /// `--at`.
    pub at: String,
    /// `--said`.
    pub said: Option<String>,
    /// Quote, language, translation, via, source.
    pub wording: WordingInput,
    /// `--supersedes`: an earlier claim (id or prefix).
    pub supersedes: Option<String>,
}

/// An assertion whose typed values passed; what it supersedes is still a
/// prefix to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAssert {
    story: String,
    by: String,
    text: String,
    valid: Valid,
    wording: Wording,
    /// The prefix of the claim it replaces, as typed.
    pub supersedes: Option<String>,
}

impl AssertInput {
    /// Checks the values as `claims assert` does, in its order.
    pub fn check(self, tz: &Tz) -> Result<CheckedAssert> {
        let valid = valid_of(&self.at, self.said, tz)?;
        let story = required("--story", self.story)?;
        if story.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "--story must be a slug without spaces (e.g. amazon-tiktok-2020-07)",
            ));
        }
        let by = required("--by", self.by)?;
        let text = required("--text", self.text)?;
        let wording = self.wording.build()?;
        Ok(CheckedAssert {
            story,
            by,
            text,
            valid,
            wording,
            supersedes: self.supersedes,
        })
    }
}

impl CheckedAssert {
    /// The `asserted` event of claim `claim` with id `id`; `resolve` names
    /// the claim a `--supersedes` prefix means (its error is said as
    /// `--supersedes: …`).
    pub fn event(
        self,
        claim: Uuid,
        id: Uuid,
        resolve: impl FnOnce(&str) -> Result<Uuid>,
    ) -> Result<Event> {
        let supersedes = self
            .supersedes
            .as_deref()
            .map(|p| resolve(p).map_err(|e| e.context("--supersedes")))
            .transpose()?;
        Ok(Event {
            id,
            body: Body::Asserted(Asserted {
                claim,
                story: self.story,
                by: self.by,
                text: self.text,
                valid: self.valid,
                wording: self.wording,
                supersedes,
            }),
        })
    }
}

/// What `claims corroborate | dispute | refute | retract` take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpInput {
    /// The claim (id or prefix).
    pub claim: String,
    /// `--by`.
    pub by: String,
    /// `--at`.
    pub at: String,
    /// `--said`.
    pub said: Option<String>,
    /// `--reason` (for corroborate, stored as its note).
    pub reason: Option<String>,
    /// Quote, language, translation, via, source.
    pub wording: WordingInput,
}

/// A follow-up whose typed values passed; its claim is still a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFollowUp {
    /// The claim's id or prefix, as typed.
    pub claim: String,
    by: String,
    valid: Valid,
    reason: Option<String>,
    wording: Wording,
}

impl FollowUpInput {
    /// Checks the values as the CLI does, in its order.
    pub fn check(self, tz: &Tz) -> Result<CheckedFollowUp> {
        let valid = valid_of(&self.at, self.said, tz)?;
        let by = required("--by", self.by)?;
        let reason = optional("--reason", self.reason)?;
        let wording = self.wording.build()?;
        Ok(CheckedFollowUp {
            claim: self.claim,
            by,
            valid,
            reason,
            wording,
        })
    }
}

impl CheckedFollowUp {
    /// The event of `kind` with id `id` on `claim` (the prefix resolved).
    pub fn event(self, kind: FollowUpKind, claim: Uuid, id: Uuid) -> Event {
        let (reason, note) = match kind {
            FollowUpKind::Corroborated => (None, self.reason),
            _ => (self.reason, None),
        };
        Event {
            id,
            body: Body::FollowedUp(FollowUp {
                kind,
                claim,
                by: self.by,
                valid: self.valid,
                reason,
                note,
                wording: self.wording,
            }),
        }
    }
}

/// A follow-up's refusal by the append rules, said in the options' words:
/// the event's valid time is what `--at` gave.
pub fn follow_up_refusal(e: Error) -> Error {
    match e.message().strip_prefix("field `valid.from`: ") {
        Some(rest) => Error::invalid(format!("--at: {rest}")),
        None => e,
    }
}

/// What `claims void` takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoidInput {
    /// The event (id or prefix).
    pub event: String,
    /// `--reason`.
    pub reason: String,
}

/// A void whose reason passed; its target is still a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedVoid {
    /// The event's id or prefix, as typed.
    pub event: String,
    reason: String,
}

impl VoidInput {
    /// Checks the reason as `claims void` does.
    pub fn check(self) -> Result<CheckedVoid> {
        Ok(CheckedVoid {
            reason: required("--reason", self.reason)?,
            event: self.event,
        })
    }
}

impl CheckedVoid {
    /// The `voided` event with id `id` of `target` (the prefix resolved).
    pub fn event(self, target: Uuid, id: Uuid) -> Event {
        Event {
            id,
            body: Body::Voided(Voided {
                target,
                reason: self.reason,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz() -> Tz {
        Tz::UTC
    }

    #[test]
    fn blank_values_are_refused_naming_the_option() {
        let e = FollowUpInput {
            claim: "854a140a".into(),
            by: "  ".into(),
            at: "2020-07-10T12:00Z".into(),
            ..Default::default()
        }
        .check(&tz())
        .unwrap_err();
        assert_eq!(e.message(), "--by must not be empty or blank");
        let e = VoidInput {
            event: "x".into(),
            reason: "".into(),
        }
        .check()
        .unwrap_err();
        assert_eq!(e.message(), "--reason must not be empty or blank");
    }

    #[test]
    fn a_bad_time_is_named_as_at_before_anything_else() {
        let e = AssertInput {
            at: "yesterday-ish".into(),
            ..Default::default()
        }
        .check(&tz())
        .unwrap_err();
        assert!(e.message().starts_with("--at: "), "{}", e.message());
    }

    #[test]
    fn a_story_with_spaces_is_refused() {
        let e = AssertInput {
            story: "a story".into(),
            by: "A".into(),
            text: "t".into(),
            at: "2020-07-10".into(),
            ..Default::default()
        }
        .check(&tz())
        .unwrap_err();
        assert!(e.message().starts_with("--story must be a slug"));
    }

    #[test]
    fn a_corroboration_keeps_its_reason_as_a_note() {
        let c = FollowUpInput {
            claim: "c".into(),
            by: "B".into(),
            at: "2020-07-10".into(),
            reason: Some("seen".into()),
            ..Default::default()
        }
        .check(&tz())
        .unwrap();
        let e = c.event(FollowUpKind::Corroborated, Uuid::nil(), Uuid::nil());
        let Body::FollowedUp(f) = e.body else {
            panic!()
        };
        assert_eq!((f.reason, f.note), (None, Some("seen".into())));
    }
}
