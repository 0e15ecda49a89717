//! The deterministic benchmark workload (shared by `examples/gen.rs` and
//! `examples/bench.rs`): SPEC `append` events for many stories, interleaved as
//! a newsroom would record them, every line valid under the append rules.
//!
//! Shape, per the performance issue: about 10 claims a story (5 to 15), 0 to
//! 8 follow-ups a claim of every kind, some `supersedes` (about 8% of
//! assertions after a story's first), about 1% voids, about 30% interval
//! times, about 10% of follow-ups recorded out of valid-time order, about 300
//! bytes an event. Ids are random (version-4 layout) from a seeded
//! SplitMix64, so the same `n` and seed always give the same bytes.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, Write};

/// SplitMix64: small, fast, good enough for a workload.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.next_u64() as usize % items.len()]
    }

    /// A random UUID in version-4 layout, lower-case hyphenated.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let a = (a & !0xF000) | 0x4000; // version 4
        let b = (b & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
        let x = ((a as u128) << 64) | b as u128;
        let h = format!("{x:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

const WORDS: &[&str] = &[
    "minister",
    "company",
    "staff",
    "app",
    "ban",
    "email",
    "phones",
    "security",
    "risk",
    "government",
    "officials",
    "report",
    "data",
    "users",
    "servers",
    "court",
    "ruling",
    "election",
    "vote",
    "budget",
    "police",
    "investigation",
    "contract",
    "deal",
    "merger",
    "shares",
    "market",
    "prices",
    "energy",
    "climate",
    "storm",
    "flood",
    "hospital",
    "vaccine",
    "school",
    "teachers",
    "union",
    "strike",
    "airport",
    "flights",
    "border",
    "trade",
    "tariffs",
    "export",
    "import",
    "fishing",
    "oil",
    "wind",
    "power",
    "grid",
    "network",
    "outage",
    "leak",
    "documents",
    "memo",
    "meeting",
    "summit",
    "talks",
    "sanctions",
    "embassy",
    "spokesperson",
    "statement",
    "interview",
    "broadcast",
];

const VERBS: &[&str] = &[
    "says",
    "claims",
    "announced",
    "confirmed",
    "denied",
    "warned",
    "told",
    "reported",
    "insisted",
    "suggested",
    "promised",
    "admitted",
];

const BYS: &[&str] = &[
    "Amazon",
    "an Amazon spokesperson",
    "TikTok",
    "Mike Pompeo",
    "the Ministry of Health",
    "the Prime Minister's office",
    "Oslo police",
    "the city council",
    "Equinor",
    "the Norwegian Labour Party",
    "a union representative",
    "the airport operator",
    "the European Commission",
    "NATO",
    "the WHO",
    "a company spokesperson",
    "the opposition leader",
    "the court",
    "Statistics Norway",
    "an anonymous source",
    "the fire department",
    "the school board",
    "the hospital trust",
    "the central bank",
];

const OUTLETS: &[&str] = &[
    "Reuters",
    "Bloomberg",
    "AP",
    "AFP",
    "NTB",
    "Wall Street Journal",
    "Fox News",
    "BBC",
    "NRK",
    "Aftenposten",
    "VG",
    "Dagens Næringsliv",
    "The Guardian",
    "several US media",
];

const WORDINGS: &[&str] = &[
    "fredag morgen, amerikansk tid",
    "noen timer senere",
    "natt til tirsdag",
    "forrige uke",
    "this morning US time",
    "a few hours later",
    "the night to Tuesday",
    "last week",
    "earlier on Monday",
    "late in the evening",
];

const REASONS: &[&str] = &[
    "sent in error",
    "contradicted by official figures",
    "the source withdrew the statement",
    "documents show otherwise",
    "quote taken out of context",
];

/// How to build the workload.
#[derive(Debug, Clone)]
pub struct Params {
    /// Exactly this many events.
    pub events: u64,
    /// PRNG seed.
    pub seed: u64,
    /// Stories developing at the same time (their events interleave).
    pub active: usize,
}

impl Params {
    /// The defaults for `n` events.
    pub fn new(events: u64) -> Self {
        Params {
            events,
            seed: 0x00C1_A115,
            active: 48,
        }
    }
}

/// What the generator wrote, for choosing queries.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Stories, in the order they started, with the earliest and latest valid
    /// time of their events (seconds since the epoch).
    pub stories: Vec<(String, i64, i64)>,
    /// Claims asserted.
    pub claims: u64,
    /// Voids written.
    pub voids: u64,
    /// Assertions with `supersedes`.
    pub supersedes: u64,
    /// World events with an interval valid time.
    pub intervals: u64,
    /// Follow-ups recorded after a follow-up of the same claim that happened later.
    pub out_of_order: u64,
    /// The latest valid time of any event (seconds since the epoch).
    pub latest: i64,
}

enum Planned {
    Assert {
        claim: usize,
    },
    Follow {
        claim: usize,
        kind: usize,
        from: i64,
        to: i64,
        text: bool,
    },
}

struct ClaimPlan {
    id: String,
    by: &'static str,
    from: i64,
    to: i64,
    said: bool,
    supersedes: Option<usize>,
}

struct Story {
    slug: String,
    claims: Vec<ClaimPlan>,
    plan: VecDeque<Planned>,
    /// Ids of events written for this story, for voids.
    written: Vec<String>,
    first: i64,
    last: i64,
}

/// 2015-01-01T00:00:00Z
const EPOCH: i64 = 1_420_070_400;
/// Ten years of news.
const SPAN: i64 = 10 * 365 * 86_400;

fn fmt_time(secs: i64) -> String {
    // Civil-from-days (Howard Hinnant), UTC.
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn json_str(s: &str) -> String {
    // The workload's strings hold no characters that need escaping but `"`.
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn sentence(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let n = rng.range(lo, hi);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        if i == 2 {
            s.push_str(rng.pick(VERBS));
        } else {
            s.push_str(rng.pick(WORDS));
        }
    }
    s
}

fn valid_json(rng: &mut Rng, from: i64, to: i64, said: bool) -> String {
    let mut v = format!("{{\"from\":\"{}\"", fmt_time(from));
    if to != from {
        v.push_str(&format!(",\"to\":\"{}\"", fmt_time(to)));
    }
    if said {
        v.push_str(&format!(",\"text\":{}", json_str(rng.pick(WORDINGS))));
    }
    v.push('}');
    v
}

fn via_json(rng: &mut Rng) -> String {
    let n = rng.range(0, 2);
    if n == 0 {
        return String::new();
    }
    let items: Vec<String> = (0..n).map(|_| json_str(rng.pick(OUTLETS))).collect();
    format!(",\"via\":[{}]", items.join(","))
}

fn source_json(rng: &mut Rng, slug: &str) -> String {
    format!(
        ",\"source\":\"https://www.{}.example/{}/{}\"",
        rng.pick(OUTLETS).to_lowercase().replace(' ', "-"),
        slug,
        rng.range(10_000, 99_999)
    )
}

/// An interval a third of the time, else an instant.
fn when(rng: &mut Rng, from: i64, summary: &mut Summary) -> (i64, i64) {
    if rng.chance(0.30) {
        summary.intervals += 1;
        (from, from + rng.range(3600, 36 * 3600) as i64)
    } else {
        (from, from)
    }
}

fn new_story(rng: &mut Rng, index: u64, expected_stories: u64, summary: &mut Summary) -> Story {
    let t0 = EPOCH
        + (SPAN as u128 * index as u128 / expected_stories.max(1) as u128) as i64
        + rng.range(0, 86_400) as i64;
    let slug = format!("{}-{}-{}", rng.pick(WORDS), rng.pick(WORDS), index);
    let nclaims = rng.range(5, 15) as usize;
    let mut claims: Vec<ClaimPlan> = Vec::with_capacity(nclaims);
    let mut t = t0;
    for i in 0..nclaims {
        t += rng.range(600, 6 * 3600) as i64;
        let (from, to) = when(rng, t, summary);
        let supersedes = if i > 0 && rng.chance(0.08) {
            Some(rng.range(0, i as u64 - 1) as usize)
        } else {
            None
        };
        claims.push(ClaimPlan {
            id: rng.uuid(),
            by: rng.pick(BYS),
            from,
            to,
            said: rng.chance(0.3),
            supersedes,
        });
    }
    // Each event gets a recording key; sorting by it interleaves the story's
    // claims. A follow-up is keyed by its valid time, except the ~10% that
    // arrive late: they are keyed after the claim's latest follow-up so far
    // but happened before it.
    let mut keyed: Vec<(i64, usize, Planned)> = Vec::new();
    let mut n = 0usize;
    for (c, claim) in claims.iter().enumerate() {
        // A superseding claim must be recorded after the one it replaces.
        let key = claim.from.max(
            claims
                .get(claim.supersedes.unwrap_or(c))
                .map_or(0, |o| o.from),
        );
        keyed.push((key, n, Planned::Assert { claim: c }));
        n += 1;
        let follow = rng.range(0, 8);
        let mut latest = claim.from;
        let mut latest_key = key;
        for _ in 0..follow {
            let kind = rng.range(0, 3) as usize;
            // The first follow-up cannot be late, so the rest are late a bit more
            // often: about 10% of all follow-ups overall.
            let late = latest > claim.from && rng.chance(0.133);
            let from = if late {
                summary.out_of_order += 1;
                rng.range(claim.from as u64, latest as u64 - 1) as i64
            } else {
                latest + rng.range(300, 2 * 86_400) as i64
            };
            let (from, to) = when(rng, from, summary);
            latest = latest.max(from);
            let k = if late { latest_key + 1 } else { from.max(key) };
            latest_key = latest_key.max(k);
            keyed.push((
                k,
                n,
                Planned::Follow {
                    claim: c,
                    kind,
                    from,
                    to,
                    text: rng.chance(0.3),
                },
            ));
            n += 1;
        }
    }
    keyed.sort_by_key(|(k, n, _)| (*k, *n));
    let first = claims.iter().map(|c| c.from).min().unwrap_or(t0);
    Story {
        slug,
        claims,
        plan: keyed.into_iter().map(|(_, _, p)| p).collect(),
        written: Vec::new(),
        first,
        last: first,
    }
}

fn asserted_line(rng: &mut Rng, id: &str, s: &Story, c: usize) -> String {
    let claim = &s.claims[c];
    let mut line = format!(
        "{{\"id\":\"{id}\",\"kind\":\"asserted\",\"claim\":\"{}\",\"story\":\"{}\",\"by\":{},\"text\":{},\"valid\":{}",
        claim.id,
        s.slug,
        json_str(claim.by),
        json_str(&format!("{} {}", claim.by, sentence(rng, 5, 11))),
        valid_json(rng, claim.from, claim.to, claim.said),
    );
    if rng.chance(0.25) {
        line.push_str(&format!(
            ",\"quote\":{},\"lang\":\"nb\",\"translation\":{}",
            json_str(&sentence(rng, 5, 10)),
            json_str(&sentence(rng, 5, 10))
        ));
    }
    line.push_str(&via_json(rng));
    line.push_str(&source_json(rng, &s.slug));
    if let Some(o) = claim.supersedes {
        line.push_str(&format!(",\"supersedes\":\"{}\"", s.claims[o].id));
    }
    line.push('}');
    line
}

const KINDS: [&str; 4] = ["corroborated", "disputed", "refuted", "retracted"];

#[allow(clippy::too_many_arguments)]
fn follow_line(
    rng: &mut Rng,
    id: &str,
    s: &Story,
    c: usize,
    kind: usize,
    from: i64,
    to: i64,
    text: bool,
) -> String {
    let claim = &s.claims[c];
    // Retractions come from the claimant's side; a tenth of corroborations
    // too (which do not count as corroboration).
    let by = if kind == 3 || (kind == 0 && rng.chance(0.1)) {
        claim.by
    } else {
        rng.pick(BYS)
    };
    let mut line = format!(
        "{{\"id\":\"{id}\",\"kind\":\"{}\",\"claim\":\"{}\",\"by\":{},\"valid\":{}",
        KINDS[kind],
        claim.id,
        json_str(by),
        valid_json(rng, from, to, text),
    );
    if kind == 0 {
        if rng.chance(0.6) {
            line.push_str(&format!(",\"note\":{}", json_str(&sentence(rng, 4, 10))));
        }
    } else {
        line.push_str(&format!(",\"reason\":{}", json_str(rng.pick(REASONS))));
    }
    line.push_str(&via_json(rng));
    if rng.chance(0.6) {
        line.push_str(&source_json(rng, &s.slug));
    }
    line.push('}');
    line
}

/// Writes `params.events` NDJSON lines to `out`.
pub fn generate(params: &Params, out: &mut impl Write) -> io::Result<Summary> {
    let mut rng = Rng::new(params.seed);
    let mut summary = Summary::default();
    // ~50 events a story: 10 claims × (1 + 4 follow-ups).
    let expected_stories = (params.events / 50).max(1);
    let mut next_story = 0u64;
    let mut active: Vec<Story> = Vec::new();
    let mut done: Vec<Story> = Vec::new();
    let mut buf = String::with_capacity(1 << 16);
    while summary.events < params.events {
        while active.len() < params.active {
            active.push(new_story(
                &mut rng,
                next_story,
                expected_stories,
                &mut summary,
            ));
            next_story += 1;
        }
        // Advance a random one of the active stories: stories interleave, and
        // the log moves forward in time as old stories end and new ones start.
        let i = rng.range(0, active.len() as u64 - 1) as usize;
        let id = rng.uuid();
        let s = &mut active[i];
        let line = if !s.written.is_empty() && rng.chance(0.01) {
            let target = s.written[rng.range(0, s.written.len() as u64 - 1) as usize].clone();
            summary.voids += 1;
            format!(
                "{{\"id\":\"{id}\",\"kind\":\"voided\",\"target\":\"{target}\",\"reason\":{}}}",
                json_str("entered twice by mistake; see the corrected entry")
            )
        } else {
            let Some(p) = s.plan.pop_front() else {
                done.push(active.swap_remove(i));
                continue;
            };
            let line = match p {
                Planned::Assert { claim } => {
                    summary.claims += 1;
                    if s.claims[claim].supersedes.is_some() {
                        summary.supersedes += 1;
                    }
                    let c = &s.claims[claim];
                    s.last = s.last.max(c.to);
                    asserted_line(&mut rng, &id, s, claim)
                }
                Planned::Follow {
                    claim,
                    kind,
                    from,
                    to,
                    text,
                } => {
                    s.last = s.last.max(to);
                    follow_line(&mut rng, &id, s, claim, kind, from, to, text)
                }
            };
            s.written.push(id);
            line
        };
        summary.latest = summary.latest.max(active[i].last);
        summary.events += 1;
        summary.bytes += line.len() as u64 + 1;
        buf.push_str(&line);
        buf.push('\n');
        if buf.len() > (1 << 16) - 2048 {
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    out.write_all(buf.as_bytes())?;
    done.extend(active);
    done.sort_by_key(|s| s.first);
    summary.stories = done
        .into_iter()
        .filter(|s| !s.written.is_empty())
        .map(|s| (s.slug, s.first, s.last))
        .collect();
    Ok(summary)
}

/// Formats seconds since the epoch as the workload writes times.
pub fn time(secs: i64) -> String {
    fmt_time(secs)
}
