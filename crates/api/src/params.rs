//! The parameters of each query, named as the CLI's options (`at`, `as_of`,
//! `story`, `claim`, `from`, `to`, `recorded`, `since`), and how they become
//! the core's query types. The CLI fills them from its options, the HTTP API
//! from the query string, and both resolve them here, with the same errors.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use claims_core::projection::View;
use claims_core::query::{AuditOptions, Scope};
use claims_core::store::Store;
use claims_core::time::{parse_query, parse_valid, parse_zone, Time};
use claims_core::{Ledger, Result};

/// The zone times without an offset are read in, and "now".
#[derive(Debug, Clone)]
pub struct Clock {
    /// `--tz` / `tz`.
    pub tz: Tz,
    /// Now, raised to the ledger's last recorded time (see [`Clock::new`]).
    pub now: Time,
}

impl Clock {
    /// Now for a query of `ledger`: `now`, raised to the ledger's last
    /// recorded time, so that "as of now" includes all the ledger holds even
    /// if the clock went back.
    pub fn new<S: Store + ?Sized>(tz: Tz, now: Time, store: &S) -> Clock {
        let now = match store.head().recorded_at {
            Some(last) if last > now => last,
            _ => now,
        };
        Clock { tz, now }
    }

    /// The zone a `tz` parameter names (default UTC), the error naming `--tz`.
    pub fn zone(tz: Option<&str>) -> Result<Tz> {
        match tz {
            None => Ok(Tz::UTC),
            Some(s) => parse_zone(s).map_err(|e| e.context("--tz")),
        }
    }

    /// A query time, defaulting to now; an error names the option `flag`.
    pub fn time(&self, s: Option<&str>, flag: &str) -> Result<Time> {
        match s {
            None => Ok(self.now),
            Some(s) => parse_query(s, &self.tz, self.now).map_err(|e| e.context(flag.to_string())),
        }
    }

    /// The point `at`, `as_of` name (each defaulting to now).
    pub fn view(&self, at: Option<&str>, as_of: Option<&str>) -> Result<View> {
        Ok(View::new(
            self.time(at, "--at")?,
            self.time(as_of, "--as-of")?,
        ))
    }
}

/// `state`: `GET /v1/state`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateParams {
    /// Valid time.
    pub at: Option<String>,
    /// Recorded time.
    pub as_of: Option<String>,
    /// Only this story.
    pub story: Option<String>,
    /// The zone of times without an offset.
    pub tz: Option<String>,
}

impl StateParams {
    /// The scope the parameters name.
    pub fn scope(&self) -> Scope {
        Scope {
            story: self.story.clone(),
            claim: None,
        }
    }
}

/// `show`: `GET /v1/claims/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowParams {
    /// Valid time.
    pub at: Option<String>,
    /// Recorded time.
    pub as_of: Option<String>,
    /// The zone of times without an offset.
    pub tz: Option<String>,
}

/// `audit`: `GET /v1/audit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only this story.
    pub story: Option<String>,
    /// Only this claim (id or unique prefix).
    pub claim: Option<String>,
    /// From this time (valid; recorded with `recorded`).
    pub from: Option<String>,
    /// Up to this time.
    pub to: Option<String>,
    /// In the order the ledger learned them, voids included.
    #[serde(default)]
    pub recorded: bool,
    /// Valid time statuses are taken at with `recorded`.
    pub at: Option<String>,
    /// Recorded time.
    pub as_of: Option<String>,
    /// The zone of times without an offset.
    pub tz: Option<String>,
}

impl AuditParams {
    /// The scope and options the parameters name, a claim prefix resolved.
    pub fn resolve<S: Store>(
        &self,
        clock: &Clock,
        ledger: &Ledger<S>,
    ) -> Result<(Scope, AuditOptions)> {
        let from = match &self.from {
            // A bare date as --from means the start of that day.
            Some(s) if !s.contains('T') && !s.contains(' ') && s.len() == 10 => Some(
                parse_valid(s, &clock.tz)
                    .map_err(|e| e.context("--from"))?
                    .0,
            ),
            Some(s) => Some(clock.time(Some(s), "--from")?),
            None => None,
        };
        let to = match &self.to {
            Some(s) => Some(clock.time(Some(s), "--to")?),
            None => None,
        };
        let opts = AuditOptions {
            recorded: self.recorded,
            at: clock.time(self.at.as_deref(), "--at")?,
            as_of: clock.time(self.as_of.as_deref(), "--as-of")?,
            from,
            to,
        };
        let claim = self
            .claim
            .as_deref()
            .map(|c| ledger.resolve_claim(c))
            .transpose()?;
        Ok((
            Scope {
                story: self.story.clone(),
                claim,
            },
            opts,
        ))
    }
}

/// `diff T1 T2`: `GET /v1/diff?from=T1&to=T2`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// The first time (T1).
    pub from: Option<String>,
    /// The second time (T2).
    pub to: Option<String>,
    /// Compare two recorded times (what we knew then vs then).
    #[serde(default)]
    pub recorded: bool,
    /// Valid time, with `recorded`.
    pub at: Option<String>,
    /// Recorded time, without `recorded`.
    pub as_of: Option<String>,
    /// Only this story.
    pub story: Option<String>,
    /// The zone of times without an offset.
    pub tz: Option<String>,
}

/// Two views to compare, and the two times the diff names.
#[derive(Debug, Clone)]
pub struct DiffViews {
    /// T1.
    pub t1: Time,
    /// T2.
    pub t2: Time,
    /// The view at T1.
    pub before: View,
    /// The view at T2.
    pub after: View,
}

impl DiffParams {
    /// The views the parameters name.
    pub fn views(&self, clock: &Clock) -> Result<DiffViews> {
        let need = |s: &Option<String>, name: &str| {
            s.as_deref().map(str::to_owned).ok_or_else(|| {
                claims_core::Error::invalid(format!("{name} is missing: a diff compares two times"))
            })
        };
        let t1 = clock.time(Some(&need(&self.from, "T1")?), "T1")?;
        let t2 = clock.time(Some(&need(&self.to, "T2")?), "T2")?;
        let (before, after) = if self.recorded {
            let at = clock.time(self.at.as_deref(), "--at")?;
            (View::new(at, t1), View::new(at, t2))
        } else {
            let as_of = clock.time(self.as_of.as_deref(), "--as-of")?;
            (View::new(t1, as_of), View::new(t2, as_of))
        };
        Ok(DiffViews {
            t1,
            t2,
            before,
            after,
        })
    }

    /// The scope the parameters name.
    pub fn scope(&self) -> Scope {
        Scope {
            story: self.story.clone(),
            claim: None,
        }
    }
}

/// `log --since SEQ`: `GET /v1/log?since=SEQ`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    /// Entries after this seq.
    #[serde(default)]
    pub since: u64,
}

/// `export [--story S]`: `GET /v1/export`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// Only this story's entries.
    pub story: Option<String>,
}

/// `follow [--story S] [--since SEQ]`: `GET /v1/follow`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowParams {
    /// Entries after this seq (default: from the next one to land).
    pub since: Option<u64>,
    /// Only this story's entries.
    pub story: Option<String>,
}

/// The answer to `POST /v1/events` (SPEC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    /// Entries written.
    pub appended: u64,
    /// Events skipped: already in the ledger, or repeated in the body.
    pub skipped: u64,
    /// The first entry written (`null` when none).
    pub first_seq: Option<u64>,
    /// The last entry written.
    pub last_seq: Option<u64>,
    /// Of the skipped, those already in the ledger.
    #[serde(default)]
    pub unchanged: u64,
    /// Of the skipped, lines that repeated an earlier line of the body.
    #[serde(default)]
    pub repeated: u64,
}

impl Appended {
    /// The answer for an append's report.
    pub fn of(r: &claims_core::ledger::AppendReport) -> Appended {
        Appended {
            appended: r.appended.len() as u64,
            skipped: (r.unchanged + r.repeated) as u64,
            first_seq: r.appended.first().map(|r| r.seq),
            last_seq: r.appended.last().map(|r| r.seq),
            unchanged: r.unchanged as u64,
            repeated: r.repeated as u64,
        }
    }

    /// The line `claims append` prints for it.
    pub fn line(&self) -> String {
        let n = self.appended;
        let mut msg = format!("appended {n} event{}", if n == 1 { "" } else { "s" });
        if self.unchanged > 0 {
            msg.push_str(&format!("; {} already in the ledger", self.unchanged));
        }
        if self.repeated > 0 {
            msg.push_str(&match self.repeated {
                1 => "; 1 line repeated an earlier one".to_string(),
                r => format!("; {r} lines repeated earlier ones"),
            });
        }
        if let (Some(first), Some(last)) = (self.first_seq, self.last_seq) {
            msg.push_str(&format!(" (seq {first}..{last})"));
        }
        msg
    }
}
