//! NDJSON input: one JSON value a line, blank lines skipped, a byte-order
//! mark allowed before the first. `claims append` reads its file with these
//! rules and `POST /v1/events` its body, with the same errors.

use serde_json::Value;

use claims_core::{Error, Event, Incoming, Result};

/// The longest event line `append` takes: far past any real event, so a
/// runaway line is refused before it is parsed.
pub const MAX_EVENT_LINE: usize = 16 << 20;

/// The longest line `import` reads: an event of [`MAX_EVENT_LINE`] bytes
/// plus what its export adds (`seq`, `recorded_at`, `hash`, a defaulted
/// `valid.to`: a few hundred bytes; serde_json never writes a string longer
/// than the shortest JSON that reads as it). So every event that `append`
/// takes comes back through `export` and `import`.
pub const MAX_EXPORT_LINE: usize = MAX_EVENT_LINE + (64 << 10);

/// A UTF-8 byte-order mark, allowed (and skipped) at the start of input.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses line `n` (1-based, without its newline): `None` for a blank line.
pub fn parse_line(n: usize, line: &[u8], max: usize) -> Result<Option<Value>> {
    if line.len() > max {
        return Err(Error::invalid(format!(
            "line {n}: the line is longer than {}, the most one {} may take",
            if max == MAX_EVENT_LINE {
                "16 MiB"
            } else {
                "16 MiB and 64 KiB"
            },
            if max == MAX_EVENT_LINE {
                "event"
            } else {
                "exported entry"
            },
        ))
        .with_hint("keep long documents outside the ledger and cite them in `source`"));
    }
    let line = std::str::from_utf8(line)
        .map_err(|_| Error::invalid(format!("line {n}: the line is not valid UTF-8")))?;
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return Ok(None);
    }
    claims_core::event::parse_json_strict(line)
        .map(Some)
        .map_err(|e| Error::invalid(format!("line {n}: the line is not valid JSON ({e})")))
}

/// The events of a whole NDJSON body, each with its line number; the first
/// bad line is the error. `what` names the input in an empty one's error.
pub fn events(body: &[u8], what: &str) -> Result<Vec<Incoming>> {
    let body = body.strip_prefix(BOM).unwrap_or(body);
    let mut out = Vec::new();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        if let Some(v) = parse_line(n, line, MAX_EVENT_LINE)? {
            let event = Event::from_json(&v, &[]).map_err(|e| e.context(format!("line {n}")))?;
            out.push(Incoming {
                line: Some(n),
                event,
            });
        }
    }
    if out.is_empty() {
        return Err(Error::invalid(format!("{what} holds no events")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"id":"0190a3b2-0000-7000-8000-000000000001","kind":"asserted","claim":"0190a3b2-0000-7000-8000-0000000000c1","story":"s","by":"A","text":"t","valid":{"from":"2020-07-10T09:00:00Z","to":"2020-07-10T09:00:00Z"}}"#;

    #[test]
    fn a_body_is_read_line_by_line_with_its_numbers() {
        let body = format!("\u{feff}\n{LINE}\r\n\n");
        let got = events(body.as_bytes(), "the body").unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].line, Some(2));
    }

    #[test]
    fn the_first_bad_line_is_named() {
        let body = format!("{LINE}\n{{\"id\":1}}\n");
        let e = events(body.as_bytes(), "the body").unwrap_err();
        assert!(e.message().starts_with("line 2"), "{}", e.message());
        let e = events(b"\n\n", "the body").unwrap_err();
        assert_eq!(e.message(), "the body holds no events");
        let e = events(b"\xff\n", "the body").unwrap_err();
        assert_eq!(e.message(), "line 1: the line is not valid UTF-8");
    }
}
