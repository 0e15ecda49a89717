//! Tables for people, written as they are produced.
//!
//! A table is a header, a rule and one line per row. Its column widths are
//! chosen from the header and the first rows (at most [`SAMPLE`]), then every
//! row is written as it comes, so the cost of a table grows with its rows and
//! the first rows appear at once, however long the table is.
//!
//! - On a terminal ([`Fit::Cut`]): each row is one line, cut to the terminal's
//!   width; a cut cell ends in `…`. The flexible column (a claim's text) takes
//!   what the others leave.
//! - With `--wide` on a terminal ([`Fit::Wrap`]): the same widths, but a cell
//!   too long for its column wraps onto more lines instead of being cut.
//! - Piped ([`Fit::Full`]): one line per row with every cell whole, padded
//!   to the sampled widths, never cut, never coloured.
//!
//! Every cell is shown with its control characters escaped
//! (`render::clean`), so a row is always one line and ledger text cannot
//! drive the terminal.

use std::io::{self, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::render;

/// How many rows decide the column widths.
pub const SAMPLE: usize = 200;

/// Between two columns.
const GAP: &str = "  ";

/// How a table meets the width it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// One line a row, cut to this many columns (a terminal).
    Cut(usize),
    /// Wrapped to this many columns (a terminal, `--wide`).
    Wrap(usize),
    /// Never cut (piped output).
    Full,
}

/// A column: its header and how its width is chosen.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// The header.
    pub name: &'static str,
    /// The flexible column takes the width the others leave (at least
    /// `min`); the others are as wide as their sampled content, up to `max`.
    pub flex: bool,
    /// The narrowest the column becomes when the width is short.
    pub min: usize,
    /// The widest a non-flexible column becomes on a terminal.
    pub max: usize,
}

impl Col {
    /// A column as wide as its content (up to `max`).
    pub const fn fit(name: &'static str, max: usize) -> Col {
        Col {
            name,
            flex: false,
            min: 6,
            max,
        }
    }

    /// A column as wide as its content (up to `max`), never narrower than
    /// `min` unless the whole row must be cut.
    pub const fn fit_min(name: &'static str, min: usize, max: usize) -> Col {
        Col {
            name,
            flex: false,
            min,
            max,
        }
    }

    /// The column that takes the rest of the width (at least `min`).
    pub const fn flex(name: &'static str, min: usize) -> Col {
        Col {
            name,
            flex: true,
            min,
            max: usize::MAX,
        }
    }
}

/// A table being written to `out`.
pub struct Table<W: Write> {
    out: W,
    cols: Vec<Col>,
    fit: Fit,
    sample: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
    rows: usize,
    /// The line being written (kept to reuse its allocation).
    line: String,
}

/// The display width of a cell.
fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

impl<W: Write> Table<W> {
    /// A table with these columns.
    pub fn new(out: W, cols: Vec<Col>, fit: Fit) -> Self {
        Table {
            out,
            cols,
            fit,
            sample: Vec::new(),
            widths: None,
            rows: 0,
            line: String::new(),
        }
    }

    /// Adds a row (one cell a column).
    pub fn row(&mut self, cells: Vec<String>) -> io::Result<()> {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| match render::clean(&c) {
                std::borrow::Cow::Borrowed(_) => c,
                std::borrow::Cow::Owned(o) => o,
            })
            .collect();
        self.rows += 1;
        if self.widths.is_none() {
            self.sample.push(cells);
            if self.sample.len() >= SAMPLE {
                self.lay_out()?;
            }
            return Ok(());
        }
        self.write_row(&cells)
    }

    /// [`Table::row`], with a failed write as the ledger's error.
    pub fn add(&mut self, cells: Vec<String>) -> claims_core::Result<()> {
        self.row(cells)
            .map_err(|e| claims_core::Error::io("writing to standard output", e))
    }

    /// Writes what is still held back and gives the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        if self.widths.is_none() {
            self.lay_out()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn lay_out(&mut self) -> io::Result<()> {
        let natural: Vec<usize> = self
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.sample
                    .iter()
                    .map(|r| r.get(i).map_or(0, |s| width(s)))
                    .max()
                    .unwrap_or(0)
                    .max(width(c.name))
            })
            .collect();
        let widths = match self.fit {
            // Padded to the sampled widths, up to each column's cap (the
            // flexible one: 80); a longer cell is written whole and pushes
            // the rest of its row along.
            Fit::Full => natural
                .iter()
                .zip(&self.cols)
                .map(|(n, c)| (*n).min(if c.flex { 80 } else { c.max }))
                .collect(),
            Fit::Cut(total) | Fit::Wrap(total) => self.fit_to(&natural, total),
        };
        self.widths = Some(widths);
        self.write_header()?;
        for cells in std::mem::take(&mut self.sample) {
            self.write_row(&cells)?;
        }
        Ok(())
    }

    /// Widths that fit `total` columns: non-flexible columns as wide as their
    /// content up to their `max`, the flexible one the rest; when even that
    /// does not fit, the widest columns give way down to their `min`.
    fn fit_to(&self, natural: &[usize], total: usize) -> Vec<usize> {
        let gaps = GAP.len() * self.cols.len().saturating_sub(1);
        let budget = total.saturating_sub(gaps);
        let mut w: Vec<usize> = self
            .cols
            .iter()
            .zip(natural)
            .map(|(c, n)| if c.flex { *n } else { (*n).min(c.max) })
            .collect();
        // The flexible column (a claim's text) is what people read: it gets
        // up to two fifths of the width before the others give way.
        let flex = self.cols.iter().position(|c| c.flex);
        let want = flex.map_or(0, |f| {
            natural[f].min((budget * 2 / 5).max(self.cols[f].min))
        });
        let shrink_to = |w: &mut Vec<usize>, limit: usize| {
            // The widest column that can give way, one column at a time.
            while w.iter().sum::<usize>() > limit {
                let Some((i, _)) = w
                    .iter()
                    .enumerate()
                    .filter(|(i, w)| Some(*i) != flex && **w > self.cols[*i].min)
                    .max_by_key(|(_, w)| **w)
                else {
                    break;
                };
                w[i] -= 1;
            }
        };
        if let Some(f) = flex {
            w[f] = 0;
            shrink_to(&mut w, budget.saturating_sub(want));
            let others: usize = w.iter().sum();
            w[f] = natural[f]
                .min(budget.saturating_sub(others))
                .max(self.cols[f].min);
        }
        shrink_to(&mut w, budget);
        w
    }

    fn write_header(&mut self) -> io::Result<()> {
        let names: Vec<String> = self.cols.iter().map(|c| c.name.to_string()).collect();
        self.write_row(&names)?;
        let widths = self.widths.as_ref().expect("laid out");
        let mut total = widths.iter().sum::<usize>() + GAP.len() * widths.len().saturating_sub(1);
        if let Fit::Cut(w) | Fit::Wrap(w) = self.fit {
            total = total.min(w);
        }
        writeln!(self.out, "{}", "─".repeat(total))
    }

    fn write_row(&mut self, cells: &[String]) -> io::Result<()> {
        let widths = self.widths.take().expect("laid out");
        let written = self.write_row_at(&widths, cells);
        self.widths = Some(widths);
        written
    }

    fn write_row_at(&mut self, widths: &[usize], cells: &[String]) -> io::Result<()> {
        let last = widths.len().saturating_sub(1);
        match self.fit {
            Fit::Full => {
                // Piped: every cell whole, padded to the sampled widths.
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                for (i, w) in widths.iter().enumerate() {
                    let cell = cells.get(i).map_or("", String::as_str);
                    line.push_str(cell);
                    if i < last {
                        let pad = w.saturating_sub(width(cell));
                        line.extend(std::iter::repeat_n(' ', pad));
                        line.push_str(GAP);
                    }
                }
                let end = line.trim_end().len();
                line.truncate(end);
                line.push('\n');
                let written = self.out.write_all(line.as_bytes());
                self.line = line;
                written
            }
            Fit::Cut(_) => {
                let mut line = String::new();
                for (i, w) in widths.iter().enumerate() {
                    let cell = cells.get(i).map_or("", String::as_str);
                    let shown = cut(cell, *w);
                    line.push_str(&shown);
                    if i < last {
                        line.push_str(&" ".repeat(w.saturating_sub(width(&shown))));
                        line.push_str(GAP);
                    }
                }
                // Columns at their narrowest and still too wide: the line is
                // cut at the terminal's edge.
                let line = match self.fit {
                    Fit::Cut(total) => cut(line.trim_end(), total),
                    _ => line.trim_end().to_string(),
                };
                writeln!(self.out, "{line}")
            }
            Fit::Wrap(_) => {
                let wrapped: Vec<Vec<String>> = widths
                    .iter()
                    .enumerate()
                    .map(|(i, w)| wrap(cells.get(i).map_or("", String::as_str), *w))
                    .collect();
                let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
                for k in 0..height {
                    let mut line = String::new();
                    for (i, w) in widths.iter().enumerate() {
                        let part = wrapped[i].get(k).map_or("", String::as_str);
                        line.push_str(part);
                        if i < last {
                            line.push_str(&" ".repeat(w.saturating_sub(width(part))));
                            line.push_str(GAP);
                        }
                    }
                    writeln!(self.out, "{}", line.trim_end())?;
                }
                Ok(())
            }
        }
    }
}

/// `s` cut to `w` columns, ending in `…` when cut.
fn cut(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w - 1 {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}

/// `s` in lines of at most `w` columns, broken at spaces where it can be.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let sep = usize::from(!line.is_empty());
        if width(&line) + sep + width(word) <= w {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word longer than the column is broken where it must be.
        let mut rest = word;
        while width(rest) > w {
            let mut used = 0;
            let at = rest
                .char_indices()
                .find(|(_, c)| {
                    used += c.width().unwrap_or(0);
                    used > w
                })
                .map_or(rest.len(), |(i, _)| i);
            lines.push(rest[..at].to_string());
            rest = &rest[at..];
        }
        line.push_str(rest);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Col> {
        vec![
            Col::fit("claim", 13),
            Col::fit("status", 12),
            Col::flex("claim text", 12),
            Col::fit("by", 20),
        ]
    }

    fn rows(n: usize) -> Vec<Vec<String>> {
        (0..n)
            .map(|i| {
                vec![
                    format!("1daf5e1{}", i % 10),
                    "reported".into(),
                    format!("Claim number {i}, whose text is long enough to need cutting on a narrow terminal"),
                    "Amazon spokesperson".into(),
                ]
            })
            .collect()
    }

    fn render(fit: Fit, n: usize) -> String {
        let mut t = Table::new(Vec::new(), cols(), fit);
        for r in rows(n) {
            t.row(r).unwrap();
        }
        String::from_utf8(t.finish().unwrap()).unwrap()
    }

    #[test]
    fn on_a_terminal_each_row_is_one_line_within_the_width() {
        for w in [40, 60, 80, 120] {
            let out = render(Fit::Cut(w), 5);
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), 2 + 5, "{out}");
            for l in &lines {
                assert!(width(l) <= w, "{w}: {l:?} is {} wide", width(l));
            }
            assert!(lines[0].starts_with("claim"), "{out}");
            // 115 columns hold every cell whole; fewer cut the text.
            assert_eq!(lines[2].contains('…'), w < 115, "{out}");
        }
    }

    #[test]
    fn piped_rows_keep_every_cell_whole() {
        let out = render(Fit::Full, 3);
        assert_eq!(out.lines().count(), 5);
        for (i, line) in out.lines().skip(2).enumerate() {
            assert!(line.contains(&format!("Claim number {i}, whose text is long enough to need cutting on a narrow terminal")), "{line}");
            assert!(!line.contains('…'));
        }
    }

    #[test]
    fn wide_wraps_instead_of_cutting() {
        let out = render(Fit::Wrap(60), 1);
        assert!(out.lines().count() > 3, "{out}");
        assert!(!out.contains('…'));
        for l in out.lines() {
            assert!(width(l) <= 60, "{l:?}");
        }
        let joined: String = out.lines().skip(2).collect::<Vec<_>>().join(" ");
        for word in ["Claim", "number", "narrow", "terminal"] {
            assert!(joined.contains(word), "{out}");
        }
    }

    #[test]
    fn rows_are_written_as_they_come_after_the_sample() {
        let mut t = Table::new(Vec::new(), cols(), Fit::Full);
        for r in rows(SAMPLE) {
            t.row(r).unwrap();
        }
        // The sample is full: header, rule and every row so far are out.
        assert_eq!(String::from_utf8_lossy(&t.out).lines().count(), SAMPLE + 2);
        t.row(rows(1).remove(0)).unwrap();
        assert_eq!(String::from_utf8_lossy(&t.out).lines().count(), SAMPLE + 3);
    }

    #[test]
    fn control_characters_in_cells_are_escaped() {
        let mut t = Table::new(Vec::new(), cols(), Fit::Full);
        t.row(vec![
            "1daf5e10".into(),
            "reported".into(),
            "a\u{1b}[31mred\u{7}\nsecond line".into(),
            "by".into(),
        ])
        .unwrap();
        let out = String::from_utf8(t.finish().unwrap()).unwrap();
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert!(out.contains("a\\u{1b}[31mred\\u{7}\\nsecond line"), "{out}");
        assert_eq!(out.lines().count(), 3);
    }

    #[test]
    fn an_empty_table_is_a_header() {
        let out = render(Fit::Cut(80), 0);
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn cutting_and_wrapping_respect_wide_characters() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("日本語テキスト", 5), "日本…");
        assert!(wrap("日本語テキスト", 4).iter().all(|l| width(l) <= 4));
    }
}
