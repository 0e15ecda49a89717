//! A claim's verdict as a schema.org ClaimReview node.

use serde_json::{json, Map, Value};

use claims_core::projection::{ClaimHistory, EntryStanding, Standing, View};
use claims_core::time::fmt_time;

use crate::{rating_of, BEST_RATING, WORST_RATING};

/// The schema.org context every document names.
pub const CONTEXT: &str = "https://schema.org";

/// Who publishes the reviews.
#[derive(Debug, Clone)]
pub struct Publisher {
    /// The organisation's name (`author.name`).
    pub name: String,
    /// Its site (`author.url`); each review's `url` is `URL#claim-ID`.
    pub url: Option<String>,
}

/// A source as a schema.org `CreativeWork`: by `url` when it is an http(s)
/// address, else by `name`.
pub fn creative_work(source: &str) -> Value {
    let lower = source.trim_start().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        json!({"@type": "CreativeWork", "url": source.trim()})
    } else {
        json!({"@type": "CreativeWork", "name": source})
    }
}

/// The ClaimReview of `h` at `view`, or `None` when its status there is no
/// verdict (absent, pending or `reported`).
pub fn review(h: &ClaimHistory, view: &View, publisher: &Publisher) -> Option<Value> {
    let Standing::Present(st) = h.state(view) else {
        return None;
    };
    let (value, word) = rating_of(st.status)?;
    let a = h.assertion()?;
    // The distinct sources of the claim's own events that count, in seq order.
    let mut own: Vec<_> = h
        .asserted
        .iter()
        .chain(h.others.iter())
        .filter(|r| r.event.claim() == Some(h.claim))
        .filter(|r| h.entry_standing(r, view) == EntryStanding::Counts)
        .collect();
    own.sort_by_key(|r| r.seq);
    let mut sources: Vec<String> = Vec::new();
    for r in own {
        if let Some(Value::String(s)) = r.event.to_json().get("source") {
            if !sources.contains(s) {
                sources.push(s.clone());
            }
        }
    }
    let mut claim = Map::new();
    claim.insert("@type".into(), "Claim".into());
    claim.insert(
        "author".into(),
        json!({"@type": "Organization", "name": a.by}),
    );
    claim.insert("datePublished".into(), fmt_time(&a.valid.to).into());
    if let Some(first) = sources.first() {
        claim.insert("firstAppearance".into(), creative_work(first));
        claim.insert(
            "appearance".into(),
            sources.iter().map(|s| creative_work(s)).collect(),
        );
    }
    let mut author = Map::new();
    author.insert("@type".into(), "Organization".into());
    author.insert("name".into(), publisher.name.clone().into());
    if let Some(u) = &publisher.url {
        author.insert("url".into(), u.clone().into());
    }
    let mut r = Map::new();
    r.insert("@type".into(), "ClaimReview".into());
    r.insert("identifier".into(), h.claim.to_string().into());
    if let Some(u) = &publisher.url {
        r.insert("url".into(), format!("{u}#claim-{}", h.claim).into());
    }
    r.insert("claimReviewed".into(), a.text.clone().into());
    r.insert("itemReviewed".into(), Value::Object(claim));
    r.insert("author".into(), Value::Object(author));
    r.insert("datePublished".into(), fmt_time(&st.since).into());
    r.insert(
        "reviewRating".into(),
        json!({
            "@type": "Rating",
            "ratingValue": value,
            "bestRating": BEST_RATING,
            "worstRating": WORST_RATING,
            "alternateName": word,
        }),
    );
    Some(Value::Object(r))
}

/// One review as a document: the node with `@context` first.
pub fn single(review: Value) -> Value {
    let mut m = Map::new();
    m.insert("@context".into(), CONTEXT.into());
    if let Value::Object(r) = review {
        m.extend(r);
    }
    Value::Object(m)
}

/// Many reviews as one document: `{"@context": …, "@graph": [...]}`.
pub fn graph(reviews: Vec<Value>) -> Value {
    json!({"@context": CONTEXT, "@graph": reviews})
}

/// JSON text as an HTML `<script type="application/ld+json">` element. Every
/// `<` is written `\u003c` (the same string to a JSON reader), so no text in
/// it can close the element or open a comment.
pub fn html(json_text: &str) -> String {
    format!(
        "<script type=\"application/ld+json\">\n{}\n</script>\n",
        json_text.trim_end().replace('<', "\\u003c")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_or_linked() {
        assert_eq!(
            creative_work("https://example.org/a"),
            json!({"@type": "CreativeWork", "url": "https://example.org/a"})
        );
        assert_eq!(
            creative_work("an article"),
            json!({"@type": "CreativeWork", "name": "an article"})
        );
    }

    #[test]
    fn html_cannot_be_closed_from_inside() {
        let text = serde_json::to_string(&json!({"t": "</script><!-- <b>"})).unwrap();
        let h = html(&text);
        assert_eq!(h.matches("</script>").count(), 1);
        assert!(h.ends_with("</script>\n"));
        let inner = h
            .strip_prefix("<script type=\"application/ld+json\">\n")
            .unwrap()
            .strip_suffix("\n</script>\n")
            .unwrap();
        let back: Value = serde_json::from_str(inner).unwrap();
        assert_eq!(back["t"], "</script><!-- <b>");
    }
}
