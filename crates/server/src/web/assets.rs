//! The page's own files, served by the server itself (no CDN, no fonts or
//! images from elsewhere): the stylesheet, the small script that announces
//! new entries (the pages read without it), and the icon.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// Where the stylesheet is served.
pub(crate) const CSS_PATH: &str = "/assets/desk.css";
/// Where the script is served.
pub(crate) const JS_PATH: &str = "/assets/live.js";
/// Where the icon is served.
pub(crate) const ICON_PATH: &str = "/assets/icon.svg";

const CSS: &str = r#"
:root {
  --ink: #1d2126; --muted: #5b636d; --paper: #fbfaf7; --card: #ffffff;
  --rule: #d9d4c7; --accent: #8f1d1d; --focus: #1d4ed8; --soft: #f1eee6;
  --reported: #4c78a8; --corroborated: #2b8a3e; --disputed: #f59f00;
  --refuted: #d62728; --superseded: #868e96; --retracted: #7b2cbf;
  --serif: "Iowan Old Style", "Palatino Linotype", Palatino, Georgia, "DejaVu Serif", serif;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Helvetica Neue", Arial, sans-serif;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { background: var(--paper); color: var(--ink); }
body { margin: 0; font: 15px/1.5 var(--sans); }
a { color: #0b4f8a; }
a:hover { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--ink); color: #fff; padding: .5em 1em; }
.skip:focus { left: 1em; z-index: 10; }
header.bar { display: flex; align-items: baseline; gap: 2em; padding: .7em 2em; border-bottom: 3px double var(--ink); background: var(--card); }
.brand { font: 700 1.35em var(--serif); color: var(--ink); text-decoration: none; letter-spacing: .01em; }
.brand .mark { color: var(--accent); }
.brand .desk { font-weight: 400; font-style: italic; color: var(--muted); }
header.bar nav a { color: var(--ink); font-weight: 600; text-decoration: none; }
header.bar nav a:hover { text-decoration: underline; }
.who { margin-left: auto; color: var(--muted); display: flex; gap: 1em; align-items: baseline; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5em 2em 3em; }
main:focus { outline: none; }
h1, h2, h3 { font-family: var(--serif); line-height: 1.2; }
h1 { font-size: 2em; margin: .2em 0 .3em; }
h2 { font-size: 1.35em; margin: 2em 0 .6em; padding-bottom: .2em; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.1em; margin: 1.2em 0 .4em; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: .78em; color: var(--accent); font-weight: 700; margin: 0; }
.lede { color: var(--muted); margin-top: 0; }
footer.site { border-top: 1px solid var(--rule); color: var(--muted); font-size: .85em; padding: 1em 2em; }
code, .id { font-family: var(--mono); font-size: .9em; }
.id { background: var(--soft); padding: 0 .3em; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; vertical-align: top; padding: .45em .6em; border-bottom: 1px solid var(--rule); }
th { font-size: .8em; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); border-bottom: 2px solid var(--ink); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; min-width: 7.5em; text-align: center; font-size: .78em; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; padding: .12em .5em; border-radius: 2px; color: #fff; background: var(--muted); }
.status-reported { background: var(--reported); }
.status-corroborated { background: var(--corroborated); }
.status-disputed { background: var(--disputed); color: #222; }
.status-refuted { background: var(--refuted); }
.status-superseded { background: var(--superseded); }
.status-retracted { background: var(--retracted); }
.status-absent { background: transparent; color: var(--muted); border: 1px solid var(--rule); }
.claims { list-style: none; padding: 0; margin: 0; }
.claims > li, .claims > div { background: var(--card); border: 1px solid var(--rule); border-left: 5px solid var(--muted); padding: .45em .9em .5em; margin: 0 0 .4em; }
.claims [data-status="reported"] { border-left-color: var(--reported); }
.claims [data-status="corroborated"] { border-left-color: var(--corroborated); }
.claims [data-status="disputed"] { border-left-color: var(--disputed); }
.claims [data-status="refuted"] { border-left-color: var(--refuted); }
.claims [data-status="superseded"] { border-left-color: var(--superseded); }
.claims [data-status="retracted"] { border-left-color: var(--retracted); }
.claims > li[data-pending], .claims > div[data-pending] { border-left-style: dashed; background: repeating-linear-gradient(135deg, #fff, #fff 8px, #f7f5ef 8px, #f7f5ef 16px); }
.claim-head { display: flex; gap: .9em; align-items: baseline; flex-wrap: wrap; font-size: .92em; }
.claim-head .by { font-weight: 700; }
.claim-head .id { margin-left: auto; }
.claim-text { font-family: var(--serif); font-size: 1.08em; margin: .15em 0 0; }
.claim-text a { color: var(--ink); text-decoration: none; }
.claim-text a:hover { text-decoration: underline; }
.meta { color: var(--muted); font-size: .88em; }
.pending-events { margin: .25em 0 0; padding-left: 1.2em; font-size: .86em; color: var(--muted); }
.pending-events li::marker { content: "◌ "; }
.view { background: var(--card); border: 1px solid var(--rule); padding: .8em 1em; display: flex; gap: 1em; flex-wrap: wrap; align-items: flex-end; }
.view .field { flex: 1 1 14em; }
.field { margin: 0 0 .8em; display: flex; flex-direction: column; }
.field label { font-weight: 600; font-size: .9em; margin-bottom: .2em; }
.field small { color: var(--muted); font-size: .8em; margin-top: .2em; }
.req { color: var(--accent); }
input[type=text], input[type=password], textarea, select { font: inherit; padding: .4em .5em; border: 1px solid #8c8c8c; border-radius: 2px; background: #fff; color: var(--ink); width: 100%; }
textarea { resize: vertical; }
button { font: inherit; font-weight: 600; padding: .45em 1.1em; border: 1px solid var(--ink); background: var(--ink); color: #fff; border-radius: 2px; cursor: pointer; }
button:hover { background: var(--accent); border-color: var(--accent); }
button.link { background: none; border: none; color: #0b4f8a; padding: 0; font-weight: 400; text-decoration: underline; }
form.inline { display: inline; }
.presets { font-size: .88em; color: var(--muted); margin: .4em 0 0; }
.timeline { overflow-x: auto; background: #fff; border: 1px solid var(--rule); padding: .5em; }
.timeline svg { display: block; max-width: none; }
.problem { border: 2px solid var(--refuted); background: #fff5f5; padding: .6em 1em; margin: 1em 0; }
.problem p { margin: .2em 0; }
.problem .hint { color: var(--muted); }
.notice { border: 1px solid var(--corroborated); background: #f1faf3; padding: .5em 1em; }
.writer { background: var(--card); border: 1px solid var(--rule); border-top: 3px solid var(--accent); padding: .4em 1.2em 1em; margin: 1em 0; }
.writer h3 { margin-top: .6em; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(16em, 1fr)); gap: 0 1.2em; }
.events { list-style: none; padding: 0; }
.events > li { background: var(--card); border: 1px solid var(--rule); padding: .7em 1em; margin-bottom: .6em; }
.events > li.voided, .events > li.unknown { opacity: .65; }
.events dl { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: .5em 0 0; }
.events dt { color: var(--muted); font-size: .88em; }
.events dd { margin: 0; }
blockquote { margin: .3em 0; padding: .2em .8em; border-left: 3px solid var(--rule); font-family: var(--serif); }
.via { margin: 0; padding-left: 1.3em; }
.standing { font-size: .8em; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); border: 1px solid var(--rule); padding: 0 .4em; }
.live { position: sticky; top: 0; background: #fffbe6; border-bottom: 1px solid var(--disputed); padding: .4em 2em; }
.live[hidden] { display: none; }
.signin { max-width: 28em; background: var(--card); border: 1px solid var(--rule); padding: 1em 1.5em; }
"#;

const JS: &str = r#"// Announces entries that land while the page is open (the page reads
// without this script; it only says that a reload would show more).
(function () {
  var story = document.body.getAttribute("data-live-story");
  if (!story || !window.EventSource) { return; }
  var since = document.body.getAttribute("data-head") || "";
  var url = "/live?story=" + encodeURIComponent(story) + (since ? "&since=" + encodeURIComponent(since) : "");
  var box = document.createElement("div");
  box.className = "live"; box.hidden = true; box.setAttribute("role", "status");
  var link = document.createElement("a");
  link.href = window.location.href; link.textContent = "Reload to see them.";
  var words = document.createElement("span");
  box.appendChild(words); box.appendChild(document.createTextNode(" ")); box.appendChild(link);
  document.body.insertBefore(box, document.body.firstChild);
  var n = 0;
  var source = new EventSource(url);
  source.onmessage = function () {
    n += 1;
    words.textContent = n === 1 ? "1 new entry in this story since the page was drawn." : n + " new entries in this story since the page was drawn.";
    box.hidden = false;
  };
})();
"#;

const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" fill="#1d2126"/><text x="8" y="12.5" font-size="12" text-anchor="middle" fill="#ffffff" font-family="serif">¶</text></svg>"##;

fn file(body: &'static str, kind: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// `GET /assets/desk.css`.
pub(crate) async fn css() -> Response {
    file(CSS, "text/css; charset=utf-8")
}

/// `GET /assets/live.js`.
pub(crate) async fn js() -> Response {
    file(JS, "text/javascript; charset=utf-8")
}

/// `GET /assets/icon.svg`.
pub(crate) async fn icon() -> Response {
    file(ICON, "image/svg+xml")
}
