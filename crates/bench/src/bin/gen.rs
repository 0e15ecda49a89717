//! Writes the deterministic benchmark workload: `N` SPEC `append` events as
//! NDJSON on standard output (see `crates/bench/src/workload.rs` for its shape).
//!
//! ```text
//! cargo run --release --example gen -- 1000000 > events.ndjson
//! ```
//!
//! A summary (stories, claims, voids, …) goes to standard error.

use claims_bench::workload;

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let events: u64 = match args.next().map(|s| s.replace('_', "").parse()) {
        Some(Ok(n)) => n,
        None => 1_000_000,
        Some(Err(_)) => {
            eprintln!("usage: gen [EVENTS] [SEED]  (EVENTS defaults to 1000000)");
            std::process::exit(2);
        }
    };
    let mut params = workload::Params::new(events);
    if let Some(seed) = args.next().and_then(|s| s.parse().ok()) {
        params.seed = seed;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let s = match workload::generate(&params, &mut out).and_then(|s| out.flush().map(|_| s)) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("gen: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "gen: {} events, {} bytes ({:.0} B/event), {} stories, {} claims, {} voids, {} supersedes, {} intervals, {} follow-ups out of valid-time order",
        s.events,
        s.bytes,
        s.bytes as f64 / s.events.max(1) as f64,
        s.stories.len(),
        s.claims,
        s.voids,
        s.supersedes,
        s.intervals,
        s.out_of_order
    );
}
