//! `claims user add|list|revoke`: the accounts of the newsroom server. Only
//! a hash of each token is stored (`claims_core::account`); the token is
//! shown once, by `user add`.

use rand_core::RngCore;

use claims_core::account::{self, Account, Role};
use claims_core::{Error, ErrorKind, Result};

use super::remote::Remote;
use super::render;
use super::table::Col;
use super::Ctx;

/// The accounts of the newsroom server (`claims serve`).
///
/// A request to the server carries `Authorization: Bearer TOKEN`. A reader
/// may make every read; a writer may also append; an admin may also add,
/// list and revoke accounts. Only a hash of each token is stored, so a
/// token cannot be shown again: revoke a lost one and add another account.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    Add(AddArgs),
    List(ListArgs),
    Revoke(RevokeArgs),
}

/// Add an account; print its new token, the only time it is shown.
///
/// Prints the token alone on one line, so that
/// `TOKEN=$(claims user add alice --role writer)` keeps it, and says on
/// standard error that it is shown only this once. A name is never used
/// again, even once its account is revoked: entries recorded by a name
/// always mean one account. Creates the ledger if needed.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The account's name: 1 to 64 of a-z, 0-9, `.`, `_` and `-`,
    /// starting with a letter or digit.
    pub name: String,
    /// What the account may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,
}

/// A role, as `--role` takes it.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Every read.
    Reader,
    /// Every read, and appends.
    Writer,
    /// Every read, appends, and the accounts.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Reader => Role::Reader,
            RoleArg::Writer => Role::Writer,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// The accounts: name, role, when each was added, and whether it is active
/// or since when it is revoked. Never a token or a token's hash.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON: [{"name","role","created_at","revoked_at"}] in name
    /// order, times in UTC, `revoked_at` null while the account is active.
    #[arg(long)]
    pub json: bool,
}

/// Revoke an account: its token is refused from now on.
///
/// The name stays taken, so that what the account entered stays its own.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The account's name.
    pub name: String,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match args.command {
        Sub::Add(a) => add(ctx, a),
        Sub::List(a) => list(ctx, a),
        Sub::Revoke(a) => revoke(ctx, a),
    }
}

/// A new token from the operating system's random number generator.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    rand_core::OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("the operating system gave no random bytes for a token ({e})"),
        )
    })?;
    Ok(account::token_from_bytes(&bytes))
}

fn add(ctx: &Ctx, args: AddArgs) -> Result<()> {
    account::check_name(&args.name)?;
    let role = Role::from(args.role);
    let (account, token) = match ctx.server() {
        Some(r) => {
            let body = serde_json::json!({"name": args.name, "role": role.as_str()});
            let v: serde_json::Value = r.post_json("/v1/users", &body)?;
            let token = v
                .get("token")
                .and_then(|t| t.as_str())
                .ok_or_else(|| r.garbled("no `token` in the answer"))?
                .to_string();
            (account_of(r, &v)?, token)
        }
        None => {
            let token = new_token()?;
            let mut ledger = ctx.open_write()?;
            let account = Account::new(&args.name, role, &token, ctx.now())?;
            ledger.add_account(&account)?;
            (account, token)
        }
    };
    ctx.out(&format!("{token}\n"))?;
    ctx.io().error_line(&format!(
        "the token of {} ({role}) is shown only this once: only its hash is stored",
        account.name
    ));
    Ok(())
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<()> {
    let accounts = match ctx.server() {
        Some(r) => {
            if args.json {
                return ctx.out_raw(&r.get_bytes("/v1/users", &())?);
            }
            let rows: Vec<serde_json::Value> = r.get_json("/v1/users", &())?;
            rows.iter()
                .map(|v| account_of(r, v))
                .collect::<Result<Vec<_>>>()?
        }
        None => ctx.open_read()?.accounts()?,
    };
    if args.json {
        let rows = accounts.iter().map(Account::to_json).collect();
        return ctx.out_json(&serde_json::Value::Array(rows));
    }
    if accounts.is_empty() {
        return ctx.out("The ledger has no accounts yet.\n");
    }
    let mut t = ctx.table(vec![
        Col::flex("name", 8),
        Col::fit("role", 6),
        Col::fit_min("created", 16, 32),
        Col::fit_min("status", 6, 40),
    ]);
    for a in &accounts {
        let status = match &a.revoked_at {
            None => "active".to_string(),
            Some(at) => format!("revoked {}", render::time(at, ctx.tz())),
        };
        t.add(vec![
            a.name.clone(),
            a.role.to_string(),
            render::time(&a.created_at, ctx.tz()),
            status,
        ])?;
    }
    ctx.end_table(t)
}

fn revoke(ctx: &Ctx, args: RevokeArgs) -> Result<()> {
    account::check_name(&args.name)?;
    let revoked = match ctx.server() {
        Some(r) => r
            .delete_json(&format!("/v1/users/{}", super::target::segment(&args.name)))
            .and_then(|v| account_of(r, &v)),
        None => ctx.open_write()?.revoke_account(&args.name, ctx.now()),
    };
    let account = revoked.map_err(|e| match e.kind() {
        ErrorKind::NotFound => e.with_hint("`claims user list` shows the accounts"),
        _ => e,
    })?;
    let at = account.revoked_at.unwrap_or(account.created_at);
    ctx.out(&format!(
        "revoked {} ({}) at {}\n",
        account.name,
        account.role,
        render::time(&at, ctx.tz())
    ))
}

/// An account as a server lists it (never with its hash).
fn account_of(r: &Remote, v: &serde_json::Value) -> Result<Account> {
    let name = v
        .get("name")
        .and_then(|n| n.as_str())
        .ok_or_else(|| r.garbled("no `name` in an account"))?;
    let role = v
        .get("role")
        .and_then(|n| n.as_str())
        .and_then(Role::parse)
        .ok_or_else(|| r.garbled("no `role` in an account"))?;
    let revoked_at = match v.get("revoked_at") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(super::answers::time(r, v, "revoked_at")?),
    };
    Ok(Account {
        name: name.to_string(),
        role,
        token_hash: [0; 32],
        created_at: super::answers::time(r, v, "created_at")?,
        revoked_at,
    })
}
