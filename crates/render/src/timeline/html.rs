//! The self-contained HTML page: the SVG inline, the details of every event
//! and claim as JSON, and the style and script that show them on hover or
//! keyboard focus.

use serde_json::{json, Value};

use super::details::claim_text;
use super::escape::{esc, script_json};
use super::style::FONT;
use super::Timeline;

impl Timeline {
    /// The picture as a self-contained HTML page: the same SVG inline, with
    /// hover (and keyboard focus) details of every event and claim. It loads
    /// nothing from anywhere.
    pub fn html(&self) -> String {
        let mut details = serde_json::Map::new();
        for l in &self.lanes {
            for m in &l.events {
                details.insert(
                    m.record.event.id.to_string(),
                    details_json(&Self::event_heading(m), &self.event_details(m)),
                );
            }
            details.insert(
                l.claim.to_string(),
                details_json(&claim_text(l), &self.claim_details(l)),
            );
        }
        let data = script_json(&serde_json::to_string(&Value::Object(details)).expect("JSON"));
        let mut svg = String::new();
        self.write_svg(&mut svg);
        let title = format!("How {} changed", self.heading());
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; padding: 1rem 1.5rem; font-family: {font}; color: #222; background: #fff; }}
h1 {{ font-size: 1.3rem; margin: 0 0 .3rem; }}
p.how {{ max-width: 60rem; color: #444; font-size: .9rem; margin: 0 0 .8rem; }}
.chart {{ overflow-x: auto; }}
.chart svg {{ display: block; }}
.chart .event, .chart .claim-label, .chart .interval {{ cursor: pointer; }}
.chart .event:hover circle, .chart .event:focus circle {{ r: 6.5; }}
.chart .event:focus {{ outline: none; }}
#tip {{ position: fixed; z-index: 10; max-width: 34rem; background: #fff; border: 1px solid #999; border-radius: 4px;
  box-shadow: 0 2px 10px rgba(0,0,0,.25); padding: .5rem .7rem; font-size: .82rem; line-height: 1.35; pointer-events: none; }}
#tip h2 {{ font-size: .9rem; margin: 0 0 .3rem; }}
#tip dl {{ margin: 0; display: grid; grid-template-columns: max-content 1fr; column-gap: .6rem; row-gap: .15rem; }}
#tip dt {{ color: #666; }}
#tip dd {{ margin: 0; overflow-wrap: anywhere; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="how">One lane per claim. The bar shows the claim's status over valid time; it changes where an event had certainly happened.
Hatched strips show when an event possibly happened, where the time is known only as an interval.
Point at (or tab to) an event or a claim for its quote, translation, source and reporting chain.</p>
<div class="chart">
{svg}</div>
<div id="tip" hidden></div>
<script type="application/json" id="details">{data}</script>
<script>
(function () {{
  var details = JSON.parse(document.getElementById('details').textContent);
  var tip = document.getElementById('tip');
  function keyOf(el) {{
    var g = el.closest('[data-event], .claim-label');
    if (!g) return null;
    return g.getAttribute('data-event') || g.getAttribute('data-claim');
  }}
  function show(key, x, y) {{
    var d = details[key];
    if (!d) {{ tip.hidden = true; return; }}
    tip.textContent = '';
    var h = document.createElement('h2');
    h.textContent = d.heading;
    tip.appendChild(h);
    var dl = document.createElement('dl');
    d.rows.forEach(function (r) {{
      var dt = document.createElement('dt'); dt.textContent = r[0];
      var dd = document.createElement('dd'); dd.textContent = r[1];
      if (r[0].indexOf('quote') === 0) {{ dd.lang = r[0].replace(/^quote \(|\)$/g, ''); }}
      dl.appendChild(dt); dl.appendChild(dd);
    }});
    tip.appendChild(dl);
    tip.hidden = false;
    var w = tip.offsetWidth, hh = tip.offsetHeight;
    var left = Math.min(x + 14, window.innerWidth - w - 8);
    var top = y + 14 + hh > window.innerHeight ? Math.max(8, y - hh - 14) : y + 14;
    tip.style.left = Math.max(8, left) + 'px';
    tip.style.top = top + 'px';
  }}
  document.querySelectorAll('.chart [data-event] > title, .chart .claim-label > title').forEach(function (t) {{
    t.parentNode.removeChild(t);
  }});
  var chart = document.querySelector('.chart');
  chart.addEventListener('mousemove', function (e) {{
    var k = keyOf(e.target);
    if (k) show(k, e.clientX, e.clientY); else tip.hidden = true;
  }});
  chart.addEventListener('mouseleave', function () {{ tip.hidden = true; }});
  chart.addEventListener('focusin', function (e) {{
    var k = keyOf(e.target);
    if (!k) return;
    var r = e.target.getBoundingClientRect();
    show(k, r.left, r.bottom);
  }});
  chart.addEventListener('focusout', function () {{ tip.hidden = true; }});
}})();
</script>
</body>
</html>
"#,
            title = esc(&title),
            font = FONT,
            svg = svg,
            data = data
        )
    }
}

/// A tip's contents: its heading and (field, value) rows.
fn details_json(heading: &str, rows: &[(String, String)]) -> Value {
    json!({
        "heading": heading,
        "rows": rows.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
}
