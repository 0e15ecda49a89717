//! The live feed's reading (`GET /v1/follow`, `claims follow`): the entries
//! after a seq, in chunks, of one story or all. The server streams them as
//! Server-Sent Events; a follower of a database without a server polls.

use std::collections::HashMap;

use claims_core::event::Body;
use claims_core::record::Record;
use claims_core::{Error, Ledger, Result, Store};
use uuid::Uuid;

/// Entries read a chunk.
pub const CHUNK: usize = 512;

/// What a follower remembers between chunks: each claim's story, so that a
/// follow-up's story is not looked up again.
#[derive(Debug, Default)]
pub struct Stories(HashMap<Uuid, String>);

/// The refusal of a story the ledger does not hold.
pub fn check_story<S: Store>(l: &Ledger<S>, story: &str) -> Result<()> {
    if l.store().story_claims(story)?.is_empty() {
        return Err(
            Error::not_found(format!("there is no story {story} in the ledger"))
                .with_hint(claims_core::error::Hint::ListStories),
        );
    }
    Ok(())
}

/// Up to [`CHUNK`] entries after `since` (those of `story`, if given), and
/// the last seq read; the last seq is `since` when there are none.
pub fn chunk<S: Store>(
    l: &Ledger<S>,
    since: u64,
    story: Option<&str>,
    known: &mut Stories,
) -> Result<(Vec<Record>, u64)> {
    let mut out = Vec::new();
    let mut last = since;
    for r in l.store().scan(since + 1).take(CHUNK) {
        let r = r?;
        last = r.seq;
        match story {
            None => out.push(r),
            Some(s) => {
                if story_of(l, &r, known)?.as_deref() == Some(s) {
                    out.push(r);
                }
            }
        }
    }
    Ok((out, last))
}

/// The story an entry belongs to: an assertion's own; a follow-up's claim's;
/// a void's target's.
fn story_of<S: Store>(l: &Ledger<S>, r: &Record, known: &mut Stories) -> Result<Option<String>> {
    let known = &mut known.0;
    let claim = match &r.event.body {
        Body::Asserted(a) => {
            known.insert(a.claim, a.story.clone());
            return Ok(Some(a.story.clone()));
        }
        Body::FollowedUp(f) => f.claim,
        Body::Voided(v) => match l.event(v.target)? {
            Some(t) => match t.event.claim() {
                Some(c) => c,
                None => return Ok(None),
            },
            None => return Ok(None),
        },
    };
    if let Some(s) = known.get(&claim) {
        return Ok(Some(s.clone()));
    }
    let story = l.assertion(claim)?.and_then(|a| match a.event.body {
        Body::Asserted(a) => Some(a.story),
        _ => None,
    });
    if let Some(s) = &story {
        if known.len() > 100_000 {
            known.clear();
        }
        known.insert(claim, s.clone());
    }
    Ok(story)
}
