//! JSON written as it is produced, byte for byte what
//! `serde_json::to_string_pretty` prints for the whole value (two spaces a
//! level), so that a whole-ledger state or audit never holds its JSON.

use std::io::Write;

use serde_json::Value;

/// `v` pretty-printed at nesting `depth`: every line after the first
/// indented by two spaces a level.
pub fn pretty_at(v: &Value, depth: usize) -> String {
    let text = serde_json::to_string_pretty(v).expect("JSON");
    if depth == 0 || !text.contains('\n') {
        return text;
    }
    let pad = "  ".repeat(depth);
    text.replace('\n', &format!("\n{pad}"))
}

/// A JSON string (quoted, escaped as serde_json escapes) appended to `out`;
/// text with nothing to escape is copied as it is.
pub fn string_into(v: &str, out: &mut String) {
    if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(v);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(v).expect("JSON"));
    }
}

/// An array being written at nesting `depth` (its `[` already written).
pub struct Array {
    depth: usize,
    any: bool,
}

impl Array {
    /// Writes `[` and starts the array.
    pub fn open(w: &mut impl Write, depth: usize) -> std::io::Result<Array> {
        w.write_all(b"[")?;
        Ok(Array { depth, any: false })
    }

    /// Writes one element.
    pub fn item(&mut self, w: &mut impl Write, v: &Value) -> std::io::Result<()> {
        w.write_all(if self.any { b",\n" } else { b"\n" })?;
        w.write_all("  ".repeat(self.depth + 1).as_bytes())?;
        w.write_all(pretty_at(v, self.depth + 1).as_bytes())?;
        self.any = true;
        Ok(())
    }

    /// Writes one element already pretty-printed at this array's depth + 1.
    pub fn raw_item(&mut self, w: &mut impl Write, text: &str) -> std::io::Result<()> {
        w.write_all(if self.any { b",\n" } else { b"\n" })?;
        w.write_all("  ".repeat(self.depth + 1).as_bytes())?;
        w.write_all(text.as_bytes())?;
        self.any = true;
        Ok(())
    }

    /// Writes the closing `]`.
    pub fn close(self, w: &mut impl Write) -> std::io::Result<()> {
        if self.any {
            w.write_all(b"\n")?;
            w.write_all("  ".repeat(self.depth).as_bytes())?;
        }
        w.write_all(b"]")
    }
}

/// Writes `"key": ` of an object field at `depth` (after `{` or a comma).
pub fn key(w: &mut impl Write, depth: usize, key: &str, first: bool) -> std::io::Result<()> {
    w.write_all(if first { b"\n" } else { b",\n" })?;
    w.write_all("  ".repeat(depth + 1).as_bytes())?;
    w.write_all(serde_json::to_string(key).expect("JSON").as_bytes())?;
    w.write_all(b": ")
}

#[cfg(test)]
mod json_tests {
    use super::*;
    use serde_json::json;

    fn streamed(fields: &[(&str, Value)], arr_key: &str, items: &[Value]) -> String {
        let mut w: Vec<u8> = Vec::new();
        w.write_all(b"{").unwrap();
        let mut first = true;
        for (k, v) in fields {
            key(&mut w, 0, k, first).unwrap();
            w.write_all(pretty_at(v, 1).as_bytes()).unwrap();
            first = false;
        }
        key(&mut w, 0, arr_key, first).unwrap();
        let mut a = Array::open(&mut w, 1).unwrap();
        for i in items {
            a.item(&mut w, i).unwrap();
        }
        a.close(&mut w).unwrap();
        w.write_all(b"\n}").unwrap();
        String::from_utf8(w).unwrap()
    }

    #[test]
    fn streamed_json_is_what_serde_prints_whole() {
        let item = json!({"a": 1, "b": [1, {"c": "x\ny"}], "d": [], "e": {}});
        for n in [0, 1, 3] {
            let items: Vec<Value> = (0..n).map(|_| item.clone()).collect();
            let fields = [("at", json!("t")), ("nested", json!({"k": [1, 2]}))];
            let whole = json!({"at": "t", "nested": {"k": [1, 2]}, "claims": items});
            assert_eq!(
                streamed(&fields, "claims", &items),
                serde_json::to_string_pretty(&whole).unwrap(),
                "{n} items"
            );
            let mut w: Vec<u8> = Vec::new();
            let mut a = Array::open(&mut w, 0).unwrap();
            for i in &items {
                a.item(&mut w, i).unwrap();
            }
            a.close(&mut w).unwrap();
            assert_eq!(
                String::from_utf8(w).unwrap(),
                serde_json::to_string_pretty(&Value::Array(items.clone())).unwrap()
            );
        }
    }
}
