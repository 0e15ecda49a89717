//! The command line: global options, dispatch, and the one place errors are
//! printed. One module per subcommand, each with its `Args` (whose doc
//! comments are the `--help`) and a `run`.

mod answers;
mod append;
mod assert;
mod audit;
mod backend;
mod checkpoint;
mod claimreview;
mod completions;
mod diff;
mod export;
#[cfg(unix)]
mod follow;
mod followup;
mod import;
mod key;
#[cfg(unix)]
mod listen;
#[cfg(unix)]
mod local_server;
mod log;
mod pager;
mod pipeline;
mod proof;
mod prove;
mod publish;
mod remote;
mod render;
mod report;
#[cfg(unix)]
mod serve;
mod settings;
mod show;
#[cfg(unix)]
pub(crate) mod socket;
mod state;
mod stories;
mod streams;
mod table;
mod target;
mod tiles_dir;
mod timeline;
mod transparency;
mod user;
mod verify;
mod void;

use std::cell::{Cell, RefCell, RefMut};
use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use clap::{Parser, Subcommand};

use backend::AnyLedger;
use claims_core::projection::View;
use claims_core::time::{parse_query, parse_zone, Time};
use claims_core::{Error, Result};

/// An event-sourced, hash-chained ledger of the claims in news stories.
///
/// Record every claim a story contains and everything that later happens to
/// it; replay the belief state at any time; audit how the story changed.
#[derive(Debug, Parser)]
#[command(
    name = "claims",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The ledger: a directory (sled), a PostgreSQL database
    /// (postgres://USER:PASSWORD@HOST:PORT/DB, TLS with ?sslmode=require or
    /// verify-full), or a claims server (http(s)://HOST:PORT).
    #[arg(
        long,
        global = true,
        env = "CLAIMS_DB",
        default_value = "claims.db",
        value_name = "PATH|URL"
    )]
    db: PathBuf,

    /// A file holding the token for a claims server named by --db
    /// http(s)://… (else $CLAIMS_TOKEN).
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,

    /// A PEM certificate to trust for a claims server named by --db
    /// https://… (one with a certificate of its own making); else the
    /// usual certificate authorities.
    #[arg(long, global = true, env = "CLAIMS_TLS_CA", value_name = "FILE")]
    tls_ca: Option<PathBuf>,

    /// IANA time zone for times written without an offset, and for display.
    #[arg(long, global = true, default_value = "UTC", value_name = "ZONE")]
    tz: String,

    /// Tables on a terminal: wrap long cells onto more lines instead of
    /// cutting each row to the terminal's width.
    #[arg(long, global = true)]
    wide: bool,

    /// Never send the output through a pager ($CLAIMS_PAGER, $PAGER or
    /// `less -FRX`, used when standard output is a terminal). Setting
    /// CLAIMS_PAGER to nothing does the same.
    #[arg(long, global = true)]
    no_pager: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Assert(assert::Args),
    Corroborate(followup::Args),
    Dispute(followup::Args),
    Refute(followup::Args),
    Retract(followup::Args),
    Void(void::Args),
    Append(append::Args),
    Export(export::Args),
    Import(import::Args),
    State(state::Args),
    Show(show::Args),
    Audit(audit::Args),
    Diff(diff::Args),
    Log(log::Args),
    Stories(stories::Args),
    Verify(verify::Args),
    Key(key::Args),
    Checkpoint(checkpoint::Args),
    Prove(prove::Args),
    Proof(proof::Args),
    Publish(publish::Args),
    Timeline(timeline::Args),
    Claimreview(claimreview::Args),
    #[cfg(unix)]
    Serve(serve::Args),
    User(user::Args),
    #[cfg(unix)]
    Follow(follow::Args),
    Completions(completions::Args),
}

impl Command {
    /// The subcommand's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Assert(_) => "assert",
            Command::Corroborate(_) => "corroborate",
            Command::Dispute(_) => "dispute",
            Command::Refute(_) => "refute",
            Command::Retract(_) => "retract",
            Command::Void(_) => "void",
            Command::Append(_) => "append",
            Command::Export(_) => "export",
            Command::Import(_) => "import",
            Command::State(_) => "state",
            Command::Show(_) => "show",
            Command::Audit(_) => "audit",
            Command::Diff(_) => "diff",
            Command::Log(_) => "log",
            Command::Stories(_) => "stories",
            Command::Verify(_) => "verify",
            Command::Key(_) => "key",
            Command::Checkpoint(_) => "checkpoint",
            Command::Prove(_) => "prove",
            Command::Proof(_) => "proof",
            Command::Publish(_) => "publish",
            Command::Timeline(_) => "timeline",
            Command::Claimreview(_) => "claimreview",
            #[cfg(unix)]
            Command::Serve(_) => "serve",
            Command::User(_) => "user",
            #[cfg(unix)]
            Command::Follow(_) => "follow",
            Command::Completions(_) => "completions",
        }
    }

    /// Whether the ledger's server can answer the command (through the same
    /// API as a server named by `--db http://…`). The others need no ledger
    /// (`key`, `proof check`, `verify --published`, `completions`), serve
    /// it, or write files from it (`publish`), and open it themselves.
    fn via_server(&self) -> bool {
        match self {
            Command::Key(_) | Command::Proof(_) | Command::Publish(_) | Command::Completions(_) => {
                false
            }
            // They find (or start) the server themselves.
            #[cfg(unix)]
            Command::Serve(_) | Command::Follow(_) => false,
            Command::Verify(a) => a.opens_ledger(),
            _ => true,
        }
    }
}

/// What every command gets: where the ledger is, the zone, "now", and where
/// its input and output go.
pub struct Ctx<'a> {
    db: PathBuf,
    tz: Tz,
    /// Now; raised to the ledger's last recorded time on open, so that "as of
    /// now" always includes what the ledger holds even if the clock went back.
    now: Cell<Time>,
    lock_wait: Duration,
    /// Set when this command created the ledger directory.
    created: Cell<bool>,
    /// Set when this command opened the ledger itself.
    opened: Cell<bool>,
    /// The ledger, when it is already open (in the ledger server).
    held: RefCell<Option<AnyLedger>>,
    /// `--wide`: tables wrap instead of cutting.
    wide: bool,
    /// The claims server `--db` names, if it names one.
    remote: Option<remote::Remote>,
    /// Copies of read-only ledgers read by this command (removed with it).
    copies: RefCell<Vec<backend::TempCopy>>,
    io: Box<dyn streams::Streams + 'a>,
}

/// An open ledger: this command's own, or the server's, lent for the command.
pub enum LedgerRef<'a> {
    /// Opened by this command.
    Own(Box<AnyLedger>),
    /// Held by the server.
    Lent(RefMut<'a, AnyLedger>),
}

impl Deref for LedgerRef<'_> {
    type Target = AnyLedger;
    fn deref(&self) -> &Self::Target {
        match self {
            LedgerRef::Own(l) => l,
            LedgerRef::Lent(l) => l,
        }
    }
}

impl DerefMut for LedgerRef<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            LedgerRef::Own(l) => l,
            LedgerRef::Lent(l) => l,
        }
    }
}

impl<'a> Ctx<'a> {
    /// A context for one command run by this process on its own streams.
    fn local(
        db: PathBuf,
        tz: Tz,
        stdin: Option<Vec<u8>>,
        pager: Option<pager::Pager>,
    ) -> Ctx<'static> {
        Ctx {
            db,
            tz,
            now: Cell::new(Utc::now()),
            lock_wait: lock_wait(),
            created: Cell::new(false),
            opened: Cell::new(false),
            held: RefCell::new(None),
            wide: false,
            remote: None,
            copies: RefCell::new(Vec::new()),
            io: Box::new(streams::Local {
                stdin: RefCell::new(stdin),
                pager: RefCell::new(pager),
            }),
        }
    }

    /// The claims server `--db` names, if it names one.
    pub fn server(&self) -> Option<&remote::Remote> {
        self.remote.as_ref()
    }

    /// Where a write command's events go: the server `--db` names, or the
    /// ledger, opened for writing (created if needed).
    pub fn target(&self) -> Result<target::Target<'_>> {
        match &self.remote {
            Some(r) => Ok(target::Target::Remote(r)),
            None => self.open_write().map(target::Target::Local),
        }
    }

    /// Where a command reads whole histories from: the server `--db` names,
    /// or the ledger, opened for reading.
    pub fn source(&self) -> Result<target::Source<'_>> {
        match &self.remote {
            Some(r) => Ok(target::Source::Remote(r)),
            None => self.open_read().map(target::Source::Local),
        }
    }

    /// The feed of the ledger's own server (`follow` on a ledger directory):
    /// the server on its socket, started if none runs.
    #[cfg(unix)]
    pub fn local_feed(&self) -> Result<remote::Remote> {
        if !self.db.join("conf").is_file() {
            return Err(
                Error::not_found(format!("there is no ledger at {}", self.db.display()))
                    .with_hint(claims_core::error::Hint::CreateLedger),
            );
        }
        if let Some(r) = local_server::find(&self.db, local_server::Mode::Auto, self.lock_wait) {
            return Ok(r);
        }
        local_server::start_server(&self.db, local_server::Mode::Auto);
        local_server::find(&self.db, local_server::Mode::Auto, self.lock_wait).ok_or_else(|| {
            Error::new(
                claims_core::ErrorKind::Locked,
                format!("no server could be started for the ledger at {}", self.db.display()),
            )
            .with_hint("follow a desk's server with --db http://HOST:PORT, or run `claims serve` on the ledger")
        })
    }

    /// Whether `--db` names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        backend::is_postgres(&self.db)
    }

    /// The ledger as it may be shown: its directory, or its PostgreSQL URL
    /// without a password.
    pub fn shown_db(&self) -> String {
        backend::shown(&self.db)
    }

    /// Opens the ledger for writing, creating it if needed.
    pub fn open_write(&self) -> Result<LedgerRef<'_>> {
        if self.held.borrow().is_none() && !self.is_postgres() && !self.db.exists() {
            self.created.set(true);
        }
        self.open(true)
    }

    /// After a failed command: removes a ledger this command created and
    /// left empty, so that a refused write leaves nothing behind.
    fn undo_create(&self) {
        if !self.created.get() {
            return;
        }
        let empty = backend::is_empty_ledger(&self.db);
        if empty {
            let _ = std::fs::remove_dir_all(&self.db);
        }
    }

    /// Opens an existing ledger.
    pub fn open_read(&self) -> Result<LedgerRef<'_>> {
        self.open(false)
    }

    fn open(&self, create: bool) -> Result<LedgerRef<'_>> {
        let ledger = match RefMut::filter_map(self.held.borrow_mut(), Option::as_mut) {
            Ok(held) => LedgerRef::Lent(held),
            Err(_) => {
                let how = backend::Open {
                    create,
                    lock_wait: self.lock_wait,
                    evict_server: true,
                };
                let ledger = if create {
                    backend::open(&self.db, how)?
                } else {
                    let (ledger, copy) = backend::open_for_reading(&self.db, how)?;
                    if let Some(copy) = copy {
                        self.copies.borrow_mut().push(copy);
                    }
                    ledger
                };
                // A server is started for a ledger directory itself, not a
                // copy (nor for a database: it has no directory for a socket).
                self.opened
                    .set(self.copies.borrow().is_empty() && !self.is_postgres());
                LedgerRef::Own(Box::new(ledger))
            }
        };
        if let Some(last) = ledger.store().head().recorded_at {
            if last > self.now.get() {
                self.now.set(last);
            }
        }
        Ok(ledger)
    }

    /// Now (see the field).
    pub fn now(&self) -> Time {
        self.now.get()
    }

    /// Parses a query time (`--at`, `--as-of`, …), defaulting to now.
    pub fn query_time(&self, s: Option<&str>) -> Result<Time> {
        match s {
            None => Ok(self.now()),
            Some(s) => parse_query(s, &self.tz, self.now()),
        }
    }

    /// The zone and "now" queries resolve their times with.
    pub fn clock(&self) -> claims_api::params::Clock {
        claims_api::params::Clock {
            tz: self.tz,
            now: self.now(),
        }
    }

    /// The point `--at AT --as-of AS_OF` name (each defaulting to now), an
    /// error naming the option that does not parse.
    pub fn view(&self, at: Option<&str>, as_of: Option<&str>) -> Result<View> {
        let at = self.query_time(at).map_err(|e| e.context("--at"))?;
        let as_of = self.query_time(as_of).map_err(|e| e.context("--as-of"))?;
        Ok(View::new(at, as_of))
    }

    /// The zone in force.
    pub fn tz(&self) -> &Tz {
        &self.tz
    }

    /// Where input and output go.
    pub fn io(&self) -> &dyn streams::Streams {
        &*self.io
    }

    /// A file name the user gave, resolved against their working directory.
    pub fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.io.path(name.as_ref())
    }

    /// Writes text for people to standard output; a closed pipe (`claims log
    /// | head`) ends quietly. Control characters other than line ends are
    /// shown escaped (`render::clean_lines`): ledger text never drives the
    /// terminal.
    pub fn out(&self, text: &str) -> Result<()> {
        self.write_raw(&render::clean_lines(text))
    }

    /// Writes JSON to standard output, pretty, exactly as serde_json gives
    /// it: `--json` keeps ledger text exact.
    pub fn out_json(&self, v: &serde_json::Value) -> Result<()> {
        self.write_raw(&render::json(v))
    }

    /// Writes bytes a server answered, exactly (its `--json`, its export).
    pub fn out_raw(&self, bytes: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Error::new(
                claims_core::ErrorKind::Io,
                "the server's answer is not UTF-8",
            )
        })?;
        self.write_raw(text)
    }

    fn write_raw(&self, text: &str) -> Result<()> {
        let mut o = self.io.stdout();
        match o.write_all(text.as_bytes()).and_then(|_| o.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && self.io.is_local() => {
                std::process::exit(0)
            }
            Err(e) => Err(Error::io("writing to standard output", e)),
        }
    }

    /// A table for this command's output: on a terminal, one line a row cut
    /// to its width (wrapped with `--wide`); piped, every cell whole.
    pub fn table(
        &self,
        cols: Vec<table::Col>,
    ) -> table::Table<std::io::BufWriter<OutWriter<'_, 'a>>> {
        let fit = match self.io.width() {
            Some(w) if self.wide => table::Fit::Wrap(w as usize),
            Some(w) => table::Fit::Cut(w as usize),
            None => table::Fit::Full,
        };
        table::Table::new(
            std::io::BufWriter::with_capacity(
                64 << 10,
                OutWriter {
                    ctx: self,
                    raw: false,
                },
            ),
            cols,
            fit,
        )
    }

    /// Standard output for JSON written as it is produced (buffered).
    pub fn json_writer(&self) -> std::io::BufWriter<OutWriter<'_, 'a>> {
        std::io::BufWriter::with_capacity(
            64 << 10,
            OutWriter {
                ctx: self,
                raw: true,
            },
        )
    }

    /// Writes a finished table (and what is still held back of it).
    pub fn end_table<W: Write>(&self, t: table::Table<W>) -> Result<()> {
        t.finish()
            .map(drop)
            .map_err(|e| Error::io("writing to standard output", e))
    }

    /// Prints an error as one line: `error: message; hint`.
    fn report(&self, e: &Error) {
        self.io.error_line(&report::error_line(e));
    }
}

/// Standard output as a writer: through [`Ctx::out`] (control characters
/// escaped), or with `raw`, of exact bytes (JSON) as [`Ctx::out_json`] writes.
pub struct OutWriter<'c, 'a> {
    ctx: &'c Ctx<'a>,
    raw: bool,
}

impl Write for OutWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = match std::str::from_utf8(buf) {
            Ok(t) => t,
            // A character cut in two by the buffer: take the part before it.
            Err(e) if e.valid_up_to() > 0 => {
                std::str::from_utf8(&buf[..e.valid_up_to()]).expect("valid")
            }
            Err(_) => return Err(std::io::ErrorKind::InvalidData.into()),
        };
        let written = if self.raw {
            self.ctx.write_raw(text)
        } else {
            self.ctx.out(text)
        };
        written.map_err(|e| std::io::Error::other(e.message().to_string()))?;
        Ok(text.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the command line and returns the exit code: 0 success, 1 error,
/// 2 usage (from clap).
pub fn main() -> ExitCode {
    if let Err(msg) = settings::check() {
        eprintln!("error: {msg}");
        return ExitCode::from(1);
    }
    #[cfg(unix)]
    let mode = match local_server::Mode::from_env() {
        Ok(mode) => mode,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(1);
        }
    };
    let stdin = None;
    let cli = Cli::parse();
    let tz = match parse_zone(&cli.tz) {
        Ok(tz) => tz,
        Err(e) => {
            Ctx::local(cli.db.clone(), Tz::UTC, None, None).report(&e.context("--tz"));
            return ExitCode::from(1);
        }
    };
    let pager = pager::wanted(cli.no_pager)
        .filter(|_| pager::PAGED.contains(&cli.command.name()))
        .and_then(|cmd| pager::Pager::start(&cmd));
    let mut ctx = Ctx::local(cli.db.clone(), tz, stdin, pager);
    ctx.wide = cli.wide;
    match remote_of(&cli) {
        Ok(r) => ctx.remote = r,
        Err(e) => {
            ctx.report(&e);
            return ExitCode::from(1);
        }
    }
    // The ledger's own server, when one answers on its socket.
    #[cfg(unix)]
    if ctx.remote.is_none() && !ctx.is_postgres() && cli.command.via_server() {
        ctx.remote = local_server::find(&ctx.db, mode, ctx.lock_wait);
    }
    let code = execute(&ctx, cli.command);
    #[cfg(unix)]
    if code == 0 && ctx.opened.get() {
        local_server::start_server(&ctx.db, mode);
    }
    ExitCode::from(code)
}

/// Runs one parsed command in `ctx` and returns its exit code, printing any
/// error as one line.
fn execute(ctx: &Ctx, command: Command) -> u8 {
    match run(ctx, command) {
        Ok(()) => 0,
        Err(e) => {
            ctx.undo_create();
            ctx.report(&e);
            1
        }
    }
}

/// The server `--db` names (`http(s)://…`), with the token of
/// `--token-file` or `$CLAIMS_TOKEN`.
fn remote_of(cli: &Cli) -> Result<Option<remote::Remote>> {
    let Some(db) = cli.db.to_str().filter(|d| remote::is_url(d)) else {
        return Ok(None);
    };
    let token = match &cli.token_file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Error::io(format!("reading the token file {}", f.display()), e))?;
            let t = text.trim().to_string();
            if t.is_empty() {
                return Err(Error::invalid(format!(
                    "the token file {} is empty",
                    f.display()
                )));
            }
            Some(t)
        }
        None => settings::token(),
    };
    let ca = match &cli.tls_ca {
        Some(f) => Some(
            std::fs::read(f)
                .map_err(|e| Error::io(format!("--tls-ca: reading {}", f.display()), e))?,
        ),
        None => None,
    };
    remote::Remote::new(db, token, ca.as_deref()).map(Some)
}

fn lock_wait() -> Duration {
    settings::lock_wait()
}

fn run(ctx: &Ctx, command: Command) -> Result<()> {
    use claims_core::event::FollowUpKind as F;
    match command {
        Command::Assert(a) => assert::run(ctx, a),
        Command::Corroborate(a) => followup::run(ctx, F::Corroborated, a),
        Command::Dispute(a) => followup::run(ctx, F::Disputed, a),
        Command::Refute(a) => followup::run(ctx, F::Refuted, a),
        Command::Retract(a) => followup::run(ctx, F::Retracted, a),
        Command::Void(a) => void::run(ctx, a),
        Command::Append(a) => append::run(ctx, a),
        Command::Export(a) => export::run(ctx, a),
        Command::Import(a) => import::run(ctx, a),
        Command::State(a) => state::run(ctx, a),
        Command::Show(a) => show::run(ctx, a),
        Command::Audit(a) => audit::run(ctx, a),
        Command::Diff(a) => diff::run(ctx, a),
        Command::Log(a) => log::run(ctx, a),
        Command::Stories(a) => stories::run(ctx, a),
        Command::Verify(a) => verify::run(ctx, a),
        Command::Key(a) => key::run(ctx, a),
        Command::Checkpoint(a) => checkpoint::run(ctx, a),
        Command::Prove(a) => prove::run(ctx, a),
        Command::Proof(a) => proof::run(ctx, a),
        Command::Publish(a) => publish::run(ctx, a),
        Command::Timeline(a) => timeline::run(ctx, a),
        Command::Claimreview(a) => claimreview::run(ctx, a),
        #[cfg(unix)]
        Command::Serve(a) => serve::run(ctx, a),
        Command::User(a) => user::run(ctx, a),
        #[cfg(unix)]
        Command::Follow(a) => follow::run(ctx, a),
        Command::Completions(a) => completions::run(ctx, a),
    }
}

/// A progress bar on stderr that shows itself only on a terminal, and only
/// once the work has taken more than a second.
pub struct Progress {
    bar: indicatif::ProgressBar,
    started: std::time::Instant,
    shown: bool,
    local_terminal: bool,
    label: &'static str,
}

impl Progress {
    /// A bar for `len` steps of `label`, drawn only if `ctx`'s standard
    /// error is this process's terminal.
    pub fn new(ctx: &Ctx<'_>, len: u64, label: &'static str) -> Self {
        Progress {
            local_terminal: ctx.io.stderr_is_terminal() && ctx.io.is_local(),
            bar: indicatif::ProgressBar::hidden(),
            started: std::time::Instant::now(),
            shown: false,
            label,
        }
        .with_len(len)
    }

    fn with_len(self, len: u64) -> Self {
        self.bar.set_length(len);
        self
    }

    /// Moves the bar to `pos`.
    pub fn set(&mut self, pos: u64) {
        if !self.shown && self.started.elapsed() > Duration::from_secs(1) {
            self.shown = true;
            if self.local_terminal {
                self.bar
                    .set_draw_target(indicatif::ProgressDrawTarget::stderr());
                self.bar.set_style(
                    indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                self.bar.set_message(self.label);
            }
        }
        self.bar.set_position(pos);
    }

    /// Removes the bar.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
