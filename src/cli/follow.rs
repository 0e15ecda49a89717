//! `claims follow`: prints entries as they land, like `tail -f`, from a
//! claims server's live feed (`GET /v1/follow`, Server-Sent Events). A
//! broken connection is taken up again where it broke (`Last-Event-ID`).

use std::io::{BufRead, BufReader};
use std::time::Duration;

use claims_api::follow as feed;
use claims_api::params::FollowParams;
use claims_core::record::Record;
use claims_core::{Result, Store};

use super::remote::Remote;
use super::{answers, log, Ctx};

/// Print each new entry as it lands in the ledger, like `tail -f`; with
/// --since, first every entry after that seq. Runs until interrupted.
///
/// Follows a claims server (--db http(s)://…, see `claims serve --listen`),
/// the server of a ledger on this machine (started if none runs), or a
/// PostgreSQL ledger (--db postgres://…, read a few times a second).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this story's entries: its assertions, the events on its claims
    /// and voids of those.
    #[arg(long)]
    pub story: Option<String>,
    /// Start after this seq (0: from the first entry); default: with the
    /// next entry to land.
    #[arg(long, value_name = "SEQ")]
    pub since: Option<u64>,
    /// Print each entry as its export line (NDJSON) instead of for people.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if ctx.server().is_none() && ctx.is_postgres() {
        return follow_database(ctx, args);
    }
    // A ledger on this machine: its own server's feed (started if none runs).
    let own = match ctx.server() {
        Some(_) => None,
        None => Some(ctx.local_feed()?),
    };
    let r = match own.as_ref() {
        Some(r) => r,
        None => ctx.server().expect("a server, when not our own"),
    };
    // Without --since, from the head as it is now; every later connection
    // asks for what came after the last entry printed.
    let mut since = match args.since {
        Some(s) => s,
        None => {
            let health: serde_json::Value = r.get_json("/healthz", &())?;
            health
                .get("seq")
                .and_then(|s| s.as_u64())
                .ok_or_else(|| r.garbled("no `seq` in /healthz"))?
        }
    };
    let mut connected = false;
    let mut failures = 0u32;
    loop {
        let params = FollowParams {
            since: Some(since),
            story: args.story.clone(),
        };
        let answer = match r.get("/v1/follow", &params) {
            Ok(a) => a,
            // The first connection must work; later ones are retried.
            Err(e) if !connected => return Err(e),
            Err(_) => {
                failures += 1;
                std::thread::sleep(Duration::from_secs(u64::from(failures.min(10))));
                continue;
            }
        };
        connected = true;
        failures = 0;
        let reader = BufReader::new(Remote::reader(answer));
        let mut data = String::new();
        let mut id: Option<u64> = None;
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if line.is_empty() {
                if !data.is_empty() {
                    print_entry(ctx, r, &data, args.json)?;
                    if let Some(n) = id {
                        since = n;
                    }
                }
                data.clear();
                id = None;
            } else if let Some(d) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            } else if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse().ok();
            }
        }
        // The feed broke off: take it up again after the last entry seen.
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// How often a follower of a database looks for new entries.
const POLL: Duration = Duration::from_millis(250);

/// Follows a PostgreSQL ledger without a server: reads the head afresh a few
/// times a second and prints what landed after the last entry printed,
/// whoever wrote it (servers or commands on any machine).
fn follow_database(ctx: &Ctx, args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    if let Some(s) = &args.story {
        feed::check_story(&ledger, s)?;
    }
    let mut since = args.since.unwrap_or(ledger.store().head().seq);
    let mut stories = feed::Stories::default();
    loop {
        let head = ledger.store().read_head()?;
        while since < head.seq {
            let (records, last) = feed::chunk(&ledger, since, args.story.as_deref(), &mut stories)?;
            for r in &records {
                if args.json {
                    ctx.out_raw(format!("{}\n", r.to_line()).as_bytes())?;
                } else {
                    ctx.out(&format!("{}\n", log::line(r)))?;
                }
            }
            if last <= since {
                break;
            }
            since = last;
        }
        std::thread::sleep(POLL);
    }
}

fn print_entry(ctx: &Ctx, r: &Remote, data: &str, json: bool) -> Result<()> {
    if json {
        return ctx.out_raw(format!("{data}\n").as_bytes());
    }
    let v: serde_json::Value = serde_json::from_str(data).map_err(|e| r.garbled(e))?;
    let record: Record = answers::record(r, &v)?;
    ctx.out(&format!("{}\n", log::line(&record)))
}
