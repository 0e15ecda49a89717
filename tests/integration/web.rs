//! The desk's web page (`claims serve --listen`, SPEC "The web page"), in a
//! real headless browser: Debian's `chromium` driven through `chromedriver`
//! (WebDriver, with fantoccini). The browser tests never skip: without
//! Chromium or ChromeDriver they fail, saying what to install. The hostile
//! tests below them speak plain HTTP.
//!
//! The picture in the README (`docs/web-story.png`) is taken by hand:
//! `cargo test --test integration web::screenshot_of_the_story_at_publication -- --ignored`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::harness::{Ledger, Run, EMAIL_CLAIM, STORY, TIKTOK_CLAIM};
use crate::server::{add_user, Served};

// ---------------------------------------------------------------------------
// The browser.
// ---------------------------------------------------------------------------

/// One browser at a time: two cores do not run several Chromiums well.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `name` on the PATH, or a failure saying what to install.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{name}` is not installed, and the web page's browser tests need it: \
         install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// ChromeDriver, and headless Chromium through it, stopped when dropped.
struct Browser {
    driver: Child,
    client: Option<Client>,
    rt: tokio::runtime::Runtime,
    _profile: tempfile::TempDir,
    _one: std::sync::MutexGuard<'static, ()>,
}

impl Browser {
    fn start() -> Browser {
        let one = ONE_BROWSER.lock().unwrap_or_else(|p| p.into_inner());
        let chromium = tool("chromium");
        let chromedriver = tool("chromedriver");
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", chromedriver.display()));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("a profile directory");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1800",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let caps = caps.as_object().expect("an object").clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = rt
            .block_on(
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .unwrap_or_else(|e| panic!("chromium does not start under chromedriver: {e}"));
        Browser {
            driver,
            client: Some(client),
            rt,
            _profile: profile,
            _one: one,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    fn goto(&self, url: &str) {
        self.rt
            .block_on(self.c().goto(url))
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    fn path(&self) -> String {
        let u = self.rt.block_on(self.c().current_url()).expect("a url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    fn all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.rt
            .block_on(self.c().find_all(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    fn one(&self, css: &str) -> fantoccini::elements::Element {
        self.rt
            .block_on(self.c().find(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("no {css} on {}: {e}", self.path()))
    }

    fn attr(&self, e: &fantoccini::elements::Element, name: &str) -> Option<String> {
        self.rt.block_on(e.attr(name)).expect("an attribute")
    }

    fn text(&self, css: &str) -> String {
        let e = self.one(css);
        self.rt.block_on(e.text()).expect("text")
    }

    /// The value a field holds now.
    fn value(&self, css: &str) -> String {
        let e = self.one(css);
        self.rt
            .block_on(e.prop("value"))
            .expect("a value")
            .unwrap_or_default()
    }

    /// Types `text` into the field `css` (emptied first), as a person would.
    fn type_into(&self, css: &str, text: &str) {
        let e = self.one(css);
        self.rt.block_on(e.clear()).expect("cleared");
        if !text.is_empty() {
            self.rt.block_on(e.send_keys(text)).expect("typed");
        }
    }

    fn choose(&self, css: &str, value: &str) {
        let e = self.one(css);
        self.rt
            .block_on(e.select_by_value(value))
            .unwrap_or_else(|err| panic!("{css} = {value}: {err}"));
    }

    /// Clicks the submit button `css` and waits for the page it leads to:
    /// WebDriver's click may return before the browser has left the old
    /// page, so this waits until the old document is gone and the new one
    /// has loaded (10 s at most).
    fn click(&self, css: &str) {
        let old = self.one("html");
        let e = self.one(css);
        self.rt.block_on(e.click()).expect("clicked");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let gone = match self.rt.block_on(old.tag_name()) {
                Err(fantoccini::error::CmdError::Standard(w)) => {
                    w.error == fantoccini::error::ErrorStatus::StaleElementReference
                }
                _ => false,
            };
            let loaded = gone
                && self
                    .rt
                    .block_on(self.c().execute("return document.readyState", vec![]))
                    .is_ok_and(|v| v == "complete");
            if loaded {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} on {} led to no new page in 10 s",
                self.path()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn source(&self) -> String {
        self.rt.block_on(self.c().source()).expect("the page")
    }

    fn screenshot(&self) -> Vec<u8> {
        self.rt
            .block_on(self.c().screenshot())
            .expect("a screenshot")
    }

    /// Signs in on `base`'s sign-in page with `token`.
    fn sign_in(&self, base: &str, token: &str) {
        self.goto(&format!("{base}/signin"));
        self.type_into("#signin-token", token);
        self.click("form.signin button[type=submit]");
        assert!(
            !self.path().starts_with("/signin"),
            "still on the sign-in page: {}",
            self.source()
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

// ---------------------------------------------------------------------------
// What the page shows, and what the CLI shows.
// ---------------------------------------------------------------------------

/// A state as the tests compare it: each counting claim's status and the
/// kinds of its pending events, and the claims whose assertion is pending.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    claims: Vec<(String, String, Vec<String>)>,
    pending: Vec<String>,
}

/// The state the page shows, read through its data attributes.
fn page_state(b: &Browser) -> Seen {
    let mut claims = Vec::new();
    for e in b.all("#state [data-claim][data-status]") {
        let id = b.attr(&e, "data-claim").expect("data-claim");
        let status = b.attr(&e, "data-status").expect("data-status");
        let pending: Vec<String> =
            b.rt.block_on(e.find_all(Locator::Css("[data-pending]")))
                .expect("pending events")
                .iter()
                .map(|p| b.attr(p, "data-kind").expect("data-kind"))
                .collect();
        claims.push((id, status, pending));
    }
    // Every element of the page with data-claim is one of the state's.
    let all = b.all("[data-claim]").len();
    let pending: Vec<String> = b
        .all("[data-claim][data-pending]")
        .iter()
        .map(|e| b.attr(e, "data-claim").expect("data-claim"))
        .collect();
    assert_eq!(
        all,
        claims.len() + pending.len(),
        "stray data-claim elements"
    );
    Seen { claims, pending }
}

/// The same from `claims state --json`.
fn cli_state(v: &Value) -> Seen {
    let claims = v["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .map(|c| {
            (
                c["claim"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["pending"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["kind"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let pending = v["pending"]
        .as_array()
        .expect("pending")
        .iter()
        .map(|c| c["claim"].as_str().unwrap().to_string())
        .collect();
    Seen { claims, pending }
}

/// `claims` against the server, with `token`.
fn remote(l: &Ledger, s: &Served, token: &str, args: &[&str]) -> Run {
    Run::new(l.dir.path())
        .args(["--db", &s.url])
        .env("CLAIMS_TOKEN", token)
        .args(args.iter().copied())
}

fn q(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------
// In the browser.
// ---------------------------------------------------------------------------

/// The SPEC's moments of the seed story: 15:00 in New York, publication
/// (21:06 Oslo time, given with its offset), the update (00:05 Oslo time).
const MOMENTS: [(&str, &str); 3] = [
    ("2020-07-10T15:00", "America/New_York"),
    ("2020-07-10T21:06+02:00", "UTC"),
    ("2020-07-11T00:05", "Europe/Oslo"),
];

#[test]
fn the_story_page_shows_at_three_moments_what_claims_state_shows() {
    let l = Ledger::seeded();
    let reader = add_user(&l, "rita", "reader");
    let s = Served::start(&l, &["--public-read"]);
    let b = Browser::start();
    let mut seen = Vec::new();
    for (at, tz) in MOMENTS {
        b.goto(&format!(
            "{}/stories/{STORY}?at={}&tz={}",
            s.url,
            q(at),
            q(tz)
        ));
        let page = page_state(&b);
        let cli = remote(
            &l,
            &s,
            &reader,
            &["--tz", tz, "state", "--story", STORY, "--at", at, "--json"],
        )
        .output();
        cli.expect_code(0);
        assert_eq!(page, cli_state(&cli.json()), "at {at} in {tz}");
        seen.push(page);
    }
    // The moments differ as the story does: the order stands at 15:00 with
    // its retraction pending, and is retracted at the update.
    let order = |s: &Seen| {
        s.claims
            .iter()
            .find(|c| c.0 == EMAIL_CLAIM)
            .cloned()
            .expect("the order counts")
    };
    assert_eq!(order(&seen[0]).1, "reported");
    assert!(order(&seen[0]).2.contains(&"retracted".to_string()));
    assert_eq!(order(&seen[1]).1, "reported");
    assert_eq!(order(&seen[2]).1, "retracted");
    assert!(!seen[0].pending.is_empty());

    // The view chosen with the page's own form is a link.
    b.goto(&format!("{}/stories/{STORY}", s.url));
    b.type_into("#view-at", MOMENTS[0].0);
    b.type_into("#view-tz", MOMENTS[0].1);
    b.click("form.view button[type=submit]");
    let path = b.path();
    assert!(
        path.contains("at=2020-07-10T15%3A00") && path.contains("tz=America%2FNew_York"),
        "{path}"
    );
    assert_eq!(page_state(&b), seen[0]);
    // Its timeline is inline, and its audit lists the retraction.
    assert!(!b.all("#timeline svg").is_empty());
    assert!(b.text("#audit").contains("retracted"));
    // A claim's page shows every entry: quotes in their language, sources.
    b.goto(&format!("{}/claims/{}", s.url, &EMAIL_CLAIM[..8]));
    assert_eq!(b.all("#events [data-event]").len(), 3);
    assert!(!b.all("#events blockquote[lang=nb]").is_empty());
    assert!(b.text("#events").contains("Source"));
}

#[test]
fn a_writer_signs_in_records_a_dispute_and_sees_it_on_the_page_and_in_the_audit() {
    let l = Ledger::seeded();
    let wes = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &[]);
    let b = Browser::start();
    // Without a session the page asks for one, and comes back after.
    b.goto(&format!("{}/stories/{STORY}", s.url));
    assert!(b.path().starts_with("/signin"), "{}", b.path());
    b.type_into("#signin-token", &wes);
    b.click("form.signin button[type=submit]");
    assert_eq!(b.path(), format!("/stories/{STORY}"));
    assert!(b.text("header.bar").contains("wes"));

    b.choose("#follow-up-claim", TIKTOK_CLAIM);
    b.choose("#follow-up-kind", "dispute");
    b.type_into("#follow-up-by", "Reuters Fact Check");
    b.type_into("#follow-up-at", "2020-07-11T09:00/2020-07-11T10:00");
    b.type_into("#follow-up-said", "lørdag morgen");
    b.type_into(
        "#follow-up-reason",
        "TikTok's own security report says otherwise",
    );
    b.type_into("#follow-up-via", "Reuters\nNTB");
    b.type_into("#follow-up-source", "https://example.org/fact-check");
    b.click("#follow-up button[type=submit]");

    // The claim's page, at the new event.
    assert!(
        b.path().starts_with(&format!("/claims/{TIKTOK_CLAIM}")),
        "{}",
        b.path()
    );
    let ev = b.one("#events [data-kind=disputed]");
    let text = b.rt.block_on(ev.text()).unwrap();
    for needle in [
        "Reuters Fact Check",
        "wes",
        "Reuters",
        "NTB",
        "lørdag morgen",
        "TikTok's own security report",
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
    assert_eq!(b.text("#events [data-kind=disputed] .recorded-by"), "wes");
    assert_eq!(
        b.attr(&b.one("#claim-state [data-claim]"), "data-status")
            .as_deref(),
        Some("disputed")
    );

    // The CLI's audit says it too, and who entered it.
    let audit = remote(&l, &s, &wes, &["audit", "--story", STORY, "--json"]).output();
    audit.expect_code(0);
    let rows = audit.json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["by"] == "Reuters Fact Check")
        .unwrap_or_else(|| panic!("no row of the dispute: {rows}"));
    assert_eq!(row["kind"], "disputed");
    assert_eq!(row["recorded_by"], "wes");
    assert_eq!(row["claim"], TIKTOK_CLAIM);
    assert_eq!(row["to"], "disputed");

    // And the story page now shows it at a time after it.
    b.goto(&format!("{}/stories/{STORY}?at=2020-07-12", s.url));
    let tiktok = b.one(&format!("#state [data-claim=\"{TIKTOK_CLAIM}\"]"));
    assert_eq!(b.attr(&tiktok, "data-status").as_deref(), Some("disputed"));
}

#[test]
fn an_open_story_page_announces_an_entry_that_lands_while_it_is_open() {
    let l = Ledger::seeded();
    let wes = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &["--public-read"]);
    let b = Browser::start();
    b.goto(&format!("{}/stories/{STORY}", s.url));
    let shown = || {
        b.rt.block_on(b.c().execute(
            "var e = document.querySelector('.live'); \
             return e && !e.hidden ? e.textContent : null;",
            vec![],
        ))
        .expect("the script runs")
    };
    // The feed is open (the script's EventSource), and nothing is new yet.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(shown(), Value::Null);
    remote(
        &l,
        &s,
        &wes,
        &[
            "dispute",
            TIKTOK_CLAIM,
            "--by",
            "Reuters Fact Check",
            "--at",
            "2020-07-11T09:00:00Z",
        ],
    )
    .output()
    .expect_code(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let said = loop {
        if let Value::String(t) = shown() {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "no announcement 10 s after the entry landed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        said.contains("1 new entry in this story") && said.contains("Reload"),
        "{said}"
    );
    // The reload it offers shows the dispute.
    b.click(".live a");
    let order = page_state(&b)
        .claims
        .into_iter()
        .find(|c| c.0 == TIKTOK_CLAIM)
        .expect("the claim counts");
    assert_eq!(order.1, "disputed");
}

#[test]
fn a_refused_form_shows_the_clis_sentence_and_keeps_what_was_typed() {
    let l = Ledger::seeded();
    let wes = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &[]);
    let b = Browser::start();
    b.sign_in(&s.url, &wes);
    let cli_sentence = |args: &[&str]| {
        let out = remote(&l, &s, &wes, args).output();
        out.expect_code(1);
        out.stderr
            .trim()
            .strip_prefix("error: ")
            .unwrap_or_else(|| panic!("not an error line: {}", out.stderr))
            .to_string()
    };
    let page_sentence = |b: &Browser, form: &str| {
        let m = b.text(&format!("{form} .problem .sentence"));
        match b.all(&format!("{form} .problem .sentence-hint")).first() {
            Some(h) => format!("{m}; {}", b.rt.block_on(h.text()).unwrap()),
            None => m,
        }
    };
    let before = remote(&l, &s, &wes, &["log", "--json"]).ok();

    // A time that does not read.
    b.goto(&format!("{}/claims/{EMAIL_CLAIM}", s.url));
    b.choose("#follow-up-kind", "refute");
    b.type_into("#follow-up-by", "AP");
    b.type_into("#follow-up-at", "2020-07-32T25:00");
    b.type_into("#follow-up-reason", "a reason kept");
    b.type_into("#follow-up-via", "AP\nNTB");
    b.click("#follow-up button[type=submit]");
    let cli = cli_sentence(&[
        "refute",
        EMAIL_CLAIM,
        "--by",
        "AP",
        "--at",
        "2020-07-32T25:00",
    ]);
    assert!(cli.starts_with("--at: "), "{cli}");
    assert_eq!(page_sentence(&b, "#follow-up"), cli);
    assert_eq!(b.value("#follow-up-by"), "AP");
    assert_eq!(b.value("#follow-up-at"), "2020-07-32T25:00");
    assert_eq!(b.value("#follow-up-reason"), "a reason kept");
    assert_eq!(b.value("#follow-up-via"), "AP\nNTB");
    assert_eq!(b.value("#follow-up-kind"), "refute");

    // A time before the claim's assertion.
    b.type_into("#follow-up-at", "2020-07-01");
    b.click("#follow-up button[type=submit]");
    let cli = cli_sentence(&["refute", EMAIL_CLAIM, "--by", "AP", "--at", "2020-07-01"]);
    assert_eq!(page_sentence(&b, "#follow-up"), cli);
    assert_eq!(b.value("#follow-up-at"), "2020-07-01");

    // A blank `by` on a new claim.
    b.goto(&format!("{}/stories/{STORY}", s.url));
    b.type_into("#assert-by", "   ");
    b.type_into("#assert-at", "2020-07-10T20:00Z");
    b.type_into("#assert-text", "A claim kept");
    b.click("#assert button[type=submit]");
    let cli = cli_sentence(&[
        "assert",
        "--story",
        STORY,
        "--by",
        "   ",
        "--text",
        "A claim kept",
        "--at",
        "2020-07-10T20:00Z",
    ]);
    assert_eq!(page_sentence(&b, "#assert"), cli);
    assert_eq!(b.value("#assert-text"), "A claim kept");

    // Nothing was written.
    assert_eq!(remote(&l, &s, &wes, &["log", "--json"]).ok(), before);
}

#[test]
fn readers_and_anonymous_visitors_never_see_or_reach_the_forms() {
    let l = Ledger::seeded();
    let rita = add_user(&l, "rita", "reader");
    let s = Served::start(&l, &[]);
    let b = Browser::start();
    // Anonymous, without --public-read: the pages ask for a sign-in.
    for path in [
        "/",
        &format!("/stories/{STORY}"),
        &format!("/claims/{EMAIL_CLAIM}"),
    ] {
        b.goto(&format!("{}{path}", s.url));
        assert!(b.path().starts_with("/signin"), "{path}: {}", b.path());
        assert!(b.all("form.writer").is_empty());
    }
    // A reader reads, and sees no form.
    b.sign_in(&s.url, &rita);
    for path in [
        format!("/stories/{STORY}"),
        format!("/claims/{EMAIL_CLAIM}"),
    ] {
        b.goto(&format!("{}{path}", s.url));
        assert!(!b.all("[data-claim]").is_empty(), "{path}");
        assert!(b.all("form.writer").is_empty(), "{path}");
        assert!(b.all("form[method=post][action*=follow-up]").is_empty());
    }
    drop(s);
    // Anonymous with --public-read: the pages, and no form.
    let s = Served::start(&l, &["--public-read"]);
    b.goto(&format!("{}/stories/{STORY}", s.url));
    assert!(!b.all("[data-claim]").is_empty());
    assert!(b.all("form.writer").is_empty());
}

/// Not in CI: writes `docs/web-story.png`, the seed story at publication.
#[test]
#[ignore]
fn screenshot_of_the_story_at_publication() {
    let l = Ledger::seeded();
    let s = Served::start(&l, &["--public-read"]);
    let b = Browser::start();
    b.rt.block_on(b.c().set_window_size(1280, 2200)).unwrap();
    b.goto(&format!(
        "{}/stories/{STORY}?at=2020-07-10T21%3A06&tz=Europe%2FOslo",
        s.url
    ));
    let png = b.screenshot();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/web-story.png");
    std::fs::write(&out, png).unwrap();
}

// ---------------------------------------------------------------------------
// Hostile, in plain HTTP.
// ---------------------------------------------------------------------------

/// A plain HTTP client that follows no redirect and keeps no cookie.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

struct Got {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

impl Got {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of cookie `name` that the answer sets.
    fn cookie(&self, name: &str) -> Option<String> {
        self.header("set-cookie").iter().find_map(|c| {
            c.split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

fn got(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Got {
    let mut r = r.expect("the server answers");
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Got {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn page(s: &Served, path: &str, cookie: Option<&str>) -> Got {
    let mut req = agent().get(format!("{}{path}", s.url));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    got(req.call())
}

fn form(
    s: &Served,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Got {
    let mut req = agent()
        .post(format!("{}{path}", s.url))
        .header("Content-Type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().copied())
        .finish();
    got(req.send(body))
}

/// Signs in over HTTP: the session cookie (`claims_session=…`).
fn http_sign_in(s: &Served, token: &str) -> String {
    let p = page(s, "/signin", None);
    assert_eq!(p.status, 200);
    let pre = p.cookie("claims_signin").expect("the sign-in cookie");
    let r = form(
        s,
        "/signin",
        Some(&format!("claims_signin={pre}")),
        Some(&s.url),
        &[("csrf", &p.csrf()), ("token", token), ("next", "/")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let session = r.cookie("claims_session").expect("a session cookie");
    let set = r.header("set-cookie").join("\n");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains(token), "the token is in a cookie: {set}");
    format!("claims_session={session}")
}

fn head(s: &Served) -> u64 {
    crate::server::get(s, "/healthz", None).json()["seq"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_post_without_this_sessions_token_or_from_another_origin_is_refused() {
    let l = Ledger::seeded();
    let wes = add_user(&l, "wes", "writer");
    let rita = add_user(&l, "rita", "reader");
    let s = Served::start(&l, &[]);
    let cookie = http_sign_in(&s, &wes);
    let claim_page = page(&s, &format!("/claims/{EMAIL_CLAIM}"), Some(&cookie));
    assert_eq!(claim_page.status, 200);
    let token = claim_page.csrf();
    let action = format!("/claims/{EMAIL_CLAIM}/follow-up");
    let fields = |csrf: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("csrf", csrf),
            ("kind", "dispute"),
            ("by", "AP"),
            ("at", "2020-07-11T09:00Z"),
            ("tz", "UTC"),
        ]
    };
    let token: &'static str = Box::leak(token.into_boxed_str());
    let before = head(&s);
    // No token, a wrong one, the right one from another origin, none of
    // the two origin headers: 403, nothing written.
    let mut no_token = fields(token);
    no_token.remove(0);
    for (f, origin) in [
        (no_token, Some(s.url.as_str())),
        (
            fields("0000000000000000000000000000000000000000000000000000000000000000"),
            Some(s.url.as_str()),
        ),
        (fields(token), Some("http://evil.example")),
        (fields(token), None),
    ] {
        let r = form(&s, &action, Some(&cookie), origin, &f);
        assert_eq!(r.status, 403, "{origin:?} {f:?}: {}", r.body);
    }
    // Without the session cookie, or as a reader: 403.
    assert_eq!(
        form(&s, &action, None, Some(&s.url), &fields(token)).status,
        403
    );
    let reader = http_sign_in(&s, &rita);
    let reader_token: &'static str =
        Box::leak(page(&s, "/", Some(&reader)).csrf().into_boxed_str());
    let r = form(
        &s,
        &action,
        Some(&reader),
        Some(&s.url),
        &fields(reader_token),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Another session's token: 403.
    let r = form(
        &s,
        &action,
        Some(&cookie),
        Some(&s.url),
        &fields(reader_token),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(head(&s), before);
    // The writer's own form, from this origin: 303 to the new event.
    let r = form(&s, &action, Some(&cookie), Some(&s.url), &fields(token));
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.header("location")[0].starts_with(&format!("/claims/{EMAIL_CLAIM}")));
    assert_eq!(head(&s), before + 1);
    // Security headers on the pages.
    let p = page(&s, &format!("/stories/{STORY}"), Some(&cookie));
    let csp = p.header("content-security-policy").join(" ");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(p.header("x-content-type-options"), ["nosniff"]);
    assert_eq!(p.header("referrer-policy"), ["same-origin"]);
    assert!(!p.body.contains("<script>"), "an inline script");
}

#[test]
fn a_forged_closed_or_revoked_session_is_not_signed_in() {
    let l = Ledger::seeded();
    let wes = add_user(&l, "wes", "writer");
    let gone = add_user(&l, "gone", "writer");
    let s = Served::start(&l, &[]);
    let story = format!("/stories/{STORY}");
    // A made-up session id.
    let forged = format!("claims_session={}", "ab".repeat(32));
    let r = page(&s, &story, Some(&forged));
    assert_eq!(r.status, 303);
    assert!(r.header("location")[0].starts_with("/signin"));
    // A session signed out.
    let cookie = http_sign_in(&s, &wes);
    let p = page(&s, &story, Some(&cookie));
    assert_eq!(p.status, 200);
    let r = form(
        &s,
        "/signout",
        Some(&cookie),
        Some(&s.url),
        &[("csrf", &p.csrf())],
    );
    assert_eq!(r.status, 303);
    assert_eq!(page(&s, &story, Some(&cookie)).status, 303);
    // A revoked account's session.
    let cookie = http_sign_in(&s, &gone);
    assert_eq!(page(&s, &story, Some(&cookie)).status, 200);
    // Through the ledger's socket, which the desk's server also serves.
    l.sh("user revoke gone").ok();
    assert_eq!(page(&s, &story, Some(&cookie)).status, 303);
    // A wrong token does not sign in.
    let p = page(&s, "/signin", None);
    let pre = p.cookie("claims_signin").unwrap();
    let r = form(
        &s,
        "/signin",
        Some(&format!("claims_signin={pre}")),
        Some(&s.url),
        &[("csrf", &p.csrf()), ("token", "claims_0000")],
    );
    assert_eq!(r.status, 401);
    assert!(r.cookie("claims_session").is_none());
}

#[test]
fn ledger_text_is_shown_as_text_never_as_markup() {
    let l = Ledger::seeded();
    let wes = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &["--public-read"]);
    let claim = remote(
        &l,
        &s,
        &wes,
        &[
            "assert",
            "--story",
            STORY,
            "--by",
            "<b>Mallory</b>",
            "--text",
            "<script>alert(1)</script>",
            "--at",
            "2020-07-10T20:00Z",
            "--via",
            "\"><img src=x onerror=alert(2)>",
            "--quote",
            "<i>q</i>",
            "--lang",
            "nb\" onmouseover=\"x",
        ],
    )
    .ok();
    let claim = claim.trim();
    for path in [
        format!("/stories/{STORY}?at=2020-07-11"),
        format!("/claims/{claim}"),
        "/".into(),
    ] {
        let p = page(&s, &path, None);
        assert_eq!(p.status, 200, "{path}");
        for raw in [
            "<script>alert(1)",
            "<b>Mallory",
            "<img src=x",
            "<i>q",
            "onmouseover=\"x",
        ] {
            assert!(!p.body.contains(raw), "{path}: {raw} unescaped");
        }
    }
    let p = page(&s, &format!("/claims/{claim}"), None);
    assert!(
        p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        p.body
    );
}

#[test]
fn path_like_overlong_and_unknown_ids_are_refused() {
    let l = Ledger::seeded();
    let s = Served::start(&l, &["--public-read"]);
    let long = "a".repeat(5000);
    for (path, want) in [
        ("/claims/..%2F..%2Fetc%2Fpasswd".to_string(), 400),
        ("/claims/%2e%2e".to_string(), 400),
        (format!("/claims/{long}"), 400),
        ("/claims/zzzzzzzz".to_string(), 400),
        ("/claims/00000000".to_string(), 404),
        ("/stories/no-such-story".to_string(), 404),
        (format!("/stories/{long}"), 404),
        (format!("/stories/{STORY}?colour=red"), 400),
        (format!("/stories/{STORY}?at=yesterday-ish"), 400),
        (format!("/stories/{STORY}?tz=Mars%2FOlympus"), 400),
    ] {
        let p = page(&s, &path, None);
        assert_eq!(
            p.status,
            want,
            "{path}: {}",
            &p.body[..p.body.len().min(400)]
        );
        assert!(
            p.header("content-type")[0].starts_with("text/html"),
            "{path}"
        );
    }
    // The bad time is answered with the CLI's sentence, the field kept.
    let p = page(&s, &format!("/stories/{STORY}?at=yesterday-ish"), None);
    assert!(p.body.contains("--at: "), "{}", p.body);
    assert!(p.body.contains("value=\"yesterday-ish\""));
}

#[test]
fn no_token_is_ever_in_a_page_or_a_log_line() {
    let l = Ledger::seeded();
    let wes = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &[]);
    let cookie = http_sign_in(&s, &wes);
    let mut seen = String::new();
    for path in [
        "/",
        "/signin",
        &format!("/stories/{STORY}"),
        &format!("/claims/{EMAIL_CLAIM}"),
    ] {
        let p = page(&s, path, Some(&cookie));
        seen.push_str(&p.body);
        seen.push_str(&p.header("set-cookie").join("\n"));
    }
    // A wrong sign-in's page does not echo what was typed.
    let p = page(&s, "/signin", None);
    let pre = p.cookie("claims_signin").unwrap();
    let typo = format!("{wes}x");
    let r = form(
        &s,
        "/signin",
        Some(&format!("claims_signin={pre}")),
        Some(&s.url),
        &[("csrf", &p.csrf()), ("token", &typo)],
    );
    seen.push_str(&r.body);
    assert!(!seen.contains(&wes), "a token in a page");
    assert!(!seen.contains(&wes[7..20]), "a part of a token in a page");
    let log = s.stop();
    assert!(
        !log.contains(&wes[7..20]),
        "a token in the server's log: {log}"
    );
}
