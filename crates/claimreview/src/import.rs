//! Fact-checkers' ClaimReview feeds as `append` lines.
//!
//! Read forms:
//! - ClaimReview JSON-LD: one node, an array of nodes, or an object with
//!   `@graph` (nodes of other types in it are skipped);
//! - Google Fact Check Tools' page form: an object with
//!   `claimReviewMarkups`, each markup a review, the page's
//!   `claimReviewAuthor` the reviewer and its `publishDate` the review date;
//! - the Fact Check Tools search answer: `{"claims":[{"text", "claimant",
//!   "claimDate", "claimReview":[{"publisher", "url", "reviewDate",
//!   "textualRating"}]}]}`.
//!
//! Each review becomes the claim's `asserted` and the reviewer's verdict, as
//! the JSON an `append` line would be, with ids derived from the review
//! ([`ids`]).

use chrono_tz::Tz;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use claims_core::event::FollowUpKind;
use claims_core::time::{fmt_time, parse_valid, Time};
use claims_core::{Error, Kind, Result};

use crate::{kind_of_rating, Unmapped};

/// The namespace of the ids an import derives (UUID v5): fixed, so the same
/// review always gets the same ids.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x6c61_696d_7372_4576_8965_7700_0000_0017);

/// The ids of one review's claim, `asserted` and verdict: UUID v5 in
/// [`NAMESPACE`] of the review's key followed by `#claim`, `#asserted` and
/// `#verdict`. The key is the review's `url` and `claimReviewed` joined by a
/// line feed when it has a url (one page may review several claims), else
/// its reviewer, `claimReviewed` and date so joined.
pub fn ids(key: &str) -> (Uuid, Uuid, Uuid) {
    let id = |suffix: &str| Uuid::new_v5(&NAMESPACE, format!("{key}#{suffix}").as_bytes());
    (id("claim"), id("asserted"), id("verdict"))
}

/// One review, read.
#[derive(Debug, Clone)]
pub struct Review {
    /// 1-based position in the feed.
    pub position: usize,
    /// The review's `url`.
    pub url: Option<String>,
    /// The claim's text.
    pub claim_reviewed: String,
    /// Who made the claim.
    pub claim_author: String,
    /// When the claim was made (the review's date when not given).
    pub claim_valid: (Time, Time),
    /// Where the claim first appeared.
    pub first_appearance: Option<String>,
    /// The reviewing organisation.
    pub reviewer: String,
    /// When the review was published.
    pub review_valid: (Time, Time),
    /// The review's date as written (for the key).
    pub review_date: String,
    /// The verdict.
    pub kind: FollowUpKind,
    /// The rating as the review gave it, for the event's reason or note.
    pub rating: String,
}

/// What an import would append.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The reviews read.
    pub reviews: usize,
    /// The `append` lines: per review its `asserted`, then its verdict.
    pub events: Vec<Value>,
}

/// Reads a feed and plans its events for story `story`. Every review is
/// checked before any event is planned; the first that lacks a field is
/// refused in one sentence naming its position, url and the field.
pub fn plan(feed: &Value, story: &str) -> Result<Plan> {
    let raws = nodes(feed)?;
    if raws.is_empty() {
        return Err(Error::invalid(
            "the file holds no ClaimReview (a ClaimReview object, an array or @graph of them, or a page with claimReviewMarkups)",
        ));
    }
    let mut events = Vec::with_capacity(raws.len() * 2);
    for (i, raw) in raws.iter().enumerate() {
        let r = read(i + 1, raw)?;
        events.extend(events_of(&r, story));
    }
    Ok(Plan {
        reviews: raws.len(),
        events,
    })
}

/// A review as found, with what its container supplies.
struct Raw<'a> {
    node: &'a Value,
    /// The page form's reviewer and date.
    page_author: Option<&'a Value>,
    page_date: Option<&'a Value>,
    page_url: Option<&'a Value>,
    /// The search answer's claim.
    claim: Option<&'a Value>,
}

fn has_type(v: &Value, t: &str) -> bool {
    match v.get("@type") {
        Some(Value::String(s)) => s == t || s.ends_with(&format!("/{t}")),
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(t)),
        _ => false,
    }
}

fn nodes(feed: &Value) -> Result<Vec<Raw<'_>>> {
    let plain = |node| Raw {
        node,
        page_author: None,
        page_date: None,
        page_url: None,
        claim: None,
    };
    let mut out = Vec::new();
    match feed {
        Value::Array(items) => {
            for v in items {
                if v.get("@graph").is_some() || v.get("claimReviewMarkups").is_some() {
                    out.extend(nodes(v)?);
                } else if is_review(v) {
                    out.push(plain(v));
                }
            }
        }
        Value::Object(m) => {
            if let Some(g) = m.get("@graph") {
                let Value::Array(g) = g else {
                    return Err(Error::invalid("the file's @graph is not an array"));
                };
                out.extend(g.iter().filter(|v| is_review(v)).map(plain));
            } else if let Some(page) = m.get("claimReviewMarkupPage") {
                out.extend(nodes(page)?);
            } else if let Some(markups) = m.get("claimReviewMarkups") {
                let Value::Array(markups) = markups else {
                    return Err(Error::invalid(
                        "the file's claimReviewMarkups is not an array",
                    ));
                };
                for node in markups {
                    out.push(Raw {
                        node,
                        page_author: m.get("claimReviewAuthor"),
                        page_date: m.get("publishDate"),
                        page_url: m.get("pageUrl"),
                        claim: None,
                    });
                }
            } else if let Some(Value::Array(claims)) = m.get("claims") {
                for claim in claims {
                    if let Some(Value::Array(reviews)) = claim.get("claimReview") {
                        for node in reviews {
                            out.push(Raw {
                                node,
                                page_author: None,
                                page_date: None,
                                page_url: None,
                                claim: Some(claim),
                            });
                        }
                    }
                }
            } else {
                out.push(plain(feed));
            }
        }
        _ => {
            return Err(Error::invalid(
                "the file is not a ClaimReview feed: it holds neither a JSON object nor an array",
            ))
        }
    }
    Ok(out)
}

fn is_review(v: &Value) -> bool {
    has_type(v, "ClaimReview") || (v.get("@type").is_none() && v.get("claimReviewed").is_some())
}

/// A non-blank string, or the first of an array of them.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Array(a) => a.iter().find_map(|x| text(Some(x))),
        _ => None,
    }
}

/// A party's name: a string, an object's `name`, or the first of an array.
fn name(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(_) => text(v),
        Value::Object(m) => text(m.get("name")),
        Value::Array(a) => a.iter().find_map(|x| name(Some(x))),
        _ => None,
    }
}

/// A work's address or name: a string, an object's `url` or `name`, or the
/// first of an array.
fn work(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(_) => text(v),
        Value::Object(m) => text(m.get("url")).or_else(|| text(m.get("name"))),
        Value::Array(a) => a.iter().find_map(|x| work(Some(x))),
        _ => None,
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn first_object(v: Option<&Value>) -> Option<&Value> {
    match v? {
        Value::Array(a) => a.iter().find(|x| x.is_object()),
        o @ Value::Object(_) => Some(o),
        _ => None,
    }
}

fn read(position: usize, raw: &Raw<'_>) -> Result<Review> {
    let n = raw.node;
    let url = text(n.get("url")).or_else(|| text(raw.page_url));
    let named = match &url {
        Some(u) => format!("review {position} ({u})"),
        None => format!("review {position}"),
    };
    let missing =
        |what: &str| Error::invalid(format!("{named} has no {what}, so it was not imported"));
    if !n.is_object() {
        return Err(Error::invalid(format!("{named} is not a JSON object")));
    }
    let item = first_object(n.get("itemReviewed"));
    let claim_reviewed = text(n.get("claimReviewed"))
        .or_else(|| raw.claim.and_then(|c| text(c.get("text"))))
        .ok_or_else(|| missing("claimReviewed (the claim's text)"))?;
    let claim_author = item
        .and_then(|i| name(i.get("author")))
        .or_else(|| name(n.get("claimAuthor")))
        .or_else(|| raw.claim.and_then(|c| name(c.get("claimant"))))
        .ok_or_else(|| missing("itemReviewed.author.name (who made the claim)"))?;
    let reviewer = name(n.get("author"))
        .or_else(|| name(n.get("publisher")))
        .or_else(|| name(raw.page_author))
        .ok_or_else(|| missing("author.name (the reviewing organisation)"))?;
    let date_field = |v: Option<&Value>, field: &str| -> Result<Option<(String, (Time, Time))>> {
        match text(v) {
            None => Ok(None),
            Some(s) => parse_valid(&s, &Tz::UTC)
                .map(|t| Some((s.clone(), t)))
                .map_err(|_| {
                    Error::invalid(format!(
                        "{named} has a {field} that is not a date or time ({s:?}), so it was not imported"
                    ))
                }),
        }
    };
    let review_date = match date_field(n.get("datePublished"), "datePublished")? {
        Some(d) => Some(d),
        None => match date_field(n.get("reviewDate"), "reviewDate")? {
            Some(d) => Some(d),
            None => date_field(raw.page_date, "publishDate")?,
        },
    };
    let claim_date = match item {
        Some(i) => date_field(i.get("datePublished"), "itemReviewed.datePublished")?,
        None => None,
    };
    let claim_date = match claim_date {
        Some(d) => Some(d),
        None => match date_field(n.get("claimDate"), "claimDate")? {
            Some(d) => Some(d),
            None => date_field(raw.claim.and_then(|c| c.get("claimDate")), "claimDate")?,
        },
    };
    let (review_date, review_valid, claim_valid) = match (review_date, claim_date) {
        (Some((s, r)), Some((_, c))) => (s, if r.0 < c.0 { c } else { r }, c),
        (Some((s, r)), None) => (s, r, r),
        (None, Some((s, c))) => (s, c, c),
        (None, None) => return Err(missing("datePublished (when the review was published)")),
    };
    let first_appearance = item
        .and_then(|i| work(i.get("firstAppearance")).or_else(|| work(i.get("appearance"))))
        .or_else(|| work(n.get("claimFirstAppearance")))
        .or_else(|| work(n.get("claimAppearances")));
    let rating = first_object(n.get("reviewRating")).or_else(|| first_object(n.get("rating")));
    let words = rating
        .and_then(|r| text(r.get("alternateName")).or_else(|| text(r.get("textualRating"))))
        .or_else(|| text(n.get("textualRating")));
    let value = rating.and_then(|r| number(r.get("ratingValue")));
    let best = rating.and_then(|r| number(r.get("bestRating")));
    let worst = rating.and_then(|r| number(r.get("worstRating")));
    let kind = kind_of_rating(words.as_deref(), value, best, worst).map_err(|e| match e {
        Unmapped::Refused(w) => Error::invalid(format!(
            "{named} has reviewRating {w:?}, which names a replacing claim the review does not carry, so it was not imported"
        )),
        Unmapped::Unknown(Some(w)) => Error::invalid(format!(
            "{named} has reviewRating {w:?}, whose words have no documented mapping and which lacks ratingValue, bestRating or worstRating, so it was not imported"
        )),
        Unmapped::Unknown(None) => missing(
            "reviewRating (alternateName or textualRating, or ratingValue with bestRating and worstRating)",
        ),
    })?;
    let rating = match (&words, value, best, worst) {
        (Some(w), _, _, _) => format!("rated {w:?}"),
        (None, Some(v), Some(b), Some(w)) => format!("rated {v} on a scale from {w} to {b}"),
        _ => "rated".to_string(),
    };
    Ok(Review {
        position,
        url,
        claim_reviewed,
        claim_author,
        claim_valid,
        first_appearance,
        reviewer,
        review_valid,
        review_date,
        kind,
        rating,
    })
}

/// The key a review's ids derive from ([`ids`]).
pub fn key(r: &Review) -> String {
    match &r.url {
        Some(u) => format!("{u}\n{}", r.claim_reviewed),
        None => format!("{}\n{}\n{}", r.reviewer, r.claim_reviewed, r.review_date),
    }
}

fn valid((from, to): (Time, Time)) -> Value {
    json!({"from": fmt_time(&from), "to": fmt_time(&to)})
}

/// A review's `asserted` and verdict, as `append` lines.
pub fn events_of(r: &Review, story: &str) -> [Value; 2] {
    let (claim, asserted, verdict) = ids(&key(r));
    let mut a = Map::new();
    a.insert("id".into(), asserted.to_string().into());
    a.insert("kind".into(), "asserted".into());
    a.insert("claim".into(), claim.to_string().into());
    a.insert("story".into(), story.into());
    a.insert("by".into(), r.claim_author.clone().into());
    a.insert("text".into(), r.claim_reviewed.clone().into());
    a.insert("valid".into(), valid(r.claim_valid));
    if let Some(s) = &r.first_appearance {
        a.insert("source".into(), s.clone().into());
    }
    let mut v = Map::new();
    v.insert("id".into(), verdict.to_string().into());
    v.insert("kind".into(), Kind::FollowUp(r.kind).as_str().into());
    v.insert("claim".into(), claim.to_string().into());
    v.insert("by".into(), r.reviewer.clone().into());
    v.insert("valid".into(), valid(r.review_valid));
    let why = if r.kind == FollowUpKind::Corroborated {
        "note"
    } else {
        "reason"
    };
    v.insert(
        why.into(),
        format!("ClaimReview by {}: {}", r.reviewer, r.rating).into(),
    );
    if let Some(u) = &r.url {
        v.insert("source".into(), u.clone().into());
    }
    [Value::Object(a), Value::Object(v)]
}
