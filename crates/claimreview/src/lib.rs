//! schema.org [ClaimReview](https://schema.org/ClaimReview) for `claims`
//! (SPEC "Fact-checkers' formats: ClaimReview").
//!
//! - [`export`]: a claim's verdict at a point `(T, R)` as a ClaimReview
//!   JSON-LD node, and the documents (`@context`, `@graph`, the HTML
//!   `<script>` element) that carry them.
//! - [`import`]: ClaimReview JSON-LD (one node, an array, a `@graph`) and
//!   Google Fact Check Tools' page form (`claimReviewMarkups`) as the
//!   `append` lines of an `asserted` and a verdict event per review, with ids
//!   derived from the review, so that a second import adds nothing.
//!
//! The crate is pure: it reads histories and JSON values and returns JSON
//! values; the command line reads the files and appends the events.

pub mod export;
pub mod import;

use claims_core::event::FollowUpKind;
use claims_core::Status;

/// The rating scale of an exported review: `worstRating` 1, `bestRating` 5.
pub const WORST_RATING: u8 = 1;
/// See [`WORST_RATING`].
pub const BEST_RATING: u8 = 5;

/// The rating an exported review gives a status: its `ratingValue` on the
/// 1–5 scale and its `alternateName`. `None` for `reported`, which is no
/// verdict.
///
/// | status | ratingValue | alternateName |
/// |---|---|---|
/// | corroborated | 5 | Corroborated |
/// | disputed | 3 | Disputed |
/// | superseded | 2 | Superseded |
/// | retracted | 2 | Retracted |
/// | refuted | 1 | Refuted |
pub fn rating_of(status: Status) -> Option<(u8, &'static str)> {
    match status {
        Status::Reported => None,
        Status::Corroborated => Some((5, "Corroborated")),
        Status::Disputed => Some((3, "Disputed")),
        Status::Superseded => Some((2, "Superseded")),
        Status::Retracted => Some((2, "Retracted")),
        Status::Refuted => Some((1, "Refuted")),
    }
}

/// Words a fact-checker rates with, and the event each becomes on import
/// (compared trimmed and ignoring case).
pub const RATING_WORDS: &[(&str, FollowUpKind)] = &[
    ("corroborated", FollowUpKind::Corroborated),
    ("true", FollowUpKind::Corroborated),
    ("correct", FollowUpKind::Corroborated),
    ("accurate", FollowUpKind::Corroborated),
    ("mostly true", FollowUpKind::Corroborated),
    ("disputed", FollowUpKind::Disputed),
    ("misleading", FollowUpKind::Disputed),
    ("half true", FollowUpKind::Disputed),
    ("mixture", FollowUpKind::Disputed),
    ("partly false", FollowUpKind::Disputed),
    ("unproven", FollowUpKind::Disputed),
    ("needs context", FollowUpKind::Disputed),
    ("missing context", FollowUpKind::Disputed),
    ("refuted", FollowUpKind::Refuted),
    ("false", FollowUpKind::Refuted),
    ("incorrect", FollowUpKind::Refuted),
    ("pants on fire", FollowUpKind::Refuted),
    ("fake", FollowUpKind::Refuted),
    ("mostly false", FollowUpKind::Refuted),
    ("retracted", FollowUpKind::Retracted),
];

/// Words that name a status no imported event can give: "Superseded" names
/// a replacing claim that the review does not carry. A review rated so is
/// refused whatever its numbers say.
pub const REFUSED_WORDS: &[&str] = &["superseded"];

/// Why a rating maps to no event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmapped {
    /// Its words name a status an import cannot give ([`REFUSED_WORDS`]).
    Refused(String),
    /// Its words are not in [`RATING_WORDS`] and it lacks one of
    /// `ratingValue`, `bestRating`, `worstRating` (or `bestRating` equals
    /// `worstRating`).
    Unknown(Option<String>),
}

/// The event a rating becomes on import: first by its words
/// ([`RATING_WORDS`]; "-" and "_" read as spaces), else by its numbers when
/// `value`, `best` and `worst` are all given: `r = (value − worst) / (best −
/// worst)`, `r ≥ 0.75` corroborated, `r ≤ 0.25` refuted, otherwise disputed.
pub fn kind_of_rating(
    words: Option<&str>,
    value: Option<f64>,
    best: Option<f64>,
    worst: Option<f64>,
) -> Result<FollowUpKind, Unmapped> {
    let norm = words.map(|w| {
        w.trim()
            .to_lowercase()
            .replace(['-', '_'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let norm = norm.filter(|w| !w.is_empty());
    if let Some(w) = &norm {
        let w = w.trim_end_matches(['.', '!']);
        if let Some((_, k)) = RATING_WORDS.iter().find(|(word, _)| *word == w) {
            return Ok(*k);
        }
        if REFUSED_WORDS.contains(&w) {
            return Err(Unmapped::Refused(words.unwrap_or("").trim().to_string()));
        }
    }
    if let (Some(v), Some(b), Some(w)) = (value, best, worst) {
        if b != w && v.is_finite() && b.is_finite() && w.is_finite() {
            let r = (v - w) / (b - w);
            return Ok(if r >= 0.75 {
                FollowUpKind::Corroborated
            } else if r <= 0.25 {
                FollowUpKind::Refuted
            } else {
                FollowUpKind::Disputed
            });
        }
    }
    Err(Unmapped::Unknown(
        words
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_has_a_rating_and_its_words_map_back() {
        for s in Status::ALL {
            let Some((n, word)) = rating_of(s) else {
                assert_eq!(s, Status::Reported);
                continue;
            };
            assert!((WORST_RATING..=BEST_RATING).contains(&n));
            assert_eq!(word.to_lowercase(), s.as_str());
            let back = kind_of_rating(Some(word), Some(n.into()), Some(5.0), Some(1.0));
            match s {
                Status::Superseded => {
                    assert_eq!(back, Err(Unmapped::Refused("Superseded".into())))
                }
                _ => assert_eq!(
                    back.map(|k| claims_core::Kind::FollowUp(k).as_str()),
                    Ok(s.as_str())
                ),
            }
        }
    }

    #[test]
    fn words_first_then_numbers() {
        use FollowUpKind::*;
        let k = |w: Option<&str>, v: Option<f64>| kind_of_rating(w, v, Some(5.0), Some(1.0));
        assert_eq!(k(Some("  FALSE "), Some(5.0)), Ok(Refuted));
        assert_eq!(k(Some("Pants on Fire!"), None), Ok(Refuted));
        assert_eq!(k(Some("Mostly-True"), None), Ok(Corroborated));
        assert_eq!(k(Some("Half True"), None), Ok(Disputed));
        assert_eq!(k(Some("Needs context"), None), Ok(Disputed));
        assert_eq!(k(Some("Retracted"), None), Ok(Retracted));
        assert_eq!(k(Some("Satire"), Some(1.0)), Ok(Refuted));
        assert_eq!(k(None, Some(4.0)), Ok(Corroborated));
        assert_eq!(k(None, Some(3.0)), Ok(Disputed));
        assert_eq!(k(None, Some(2.0)), Ok(Refuted));
        assert_eq!(
            k(Some("Satire"), None),
            Err(Unmapped::Unknown(Some("Satire".into())))
        );
        assert_eq!(
            kind_of_rating(Some("Satire"), Some(1.0), None, Some(1.0)),
            Err(Unmapped::Unknown(Some("Satire".into())))
        );
        assert_eq!(
            k(Some("Superseded"), Some(2.0)),
            Err(Unmapped::Refused("Superseded".into()))
        );
        assert_eq!(k(None, None), Err(Unmapped::Unknown(None)));
        // A reversed scale (1 best) reads the same way.
        assert_eq!(
            kind_of_rating(None, Some(1.0), Some(1.0), Some(7.0)),
            Ok(Corroborated)
        );
    }
}
