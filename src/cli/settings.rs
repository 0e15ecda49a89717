//! The environment variables `claims` reads, checked in one place at start-up
//! so that a bad value is refused with one sentence instead of silently
//! becoming a default. An empty variable is the same as an unset one.
//!
//! | variable | takes | default |
//! |---|---|---|
//! | `CLAIMS_DB` | the ledger (as `--db`) | `claims.db` |
//! | `CLAIMS_SERVER` | `auto` or `off` | `auto` |
//! | `CLAIMS_SERVER_IDLE` | seconds a ledger server waits, > 0 | 30 |
//! | `CLAIMS_LOCK_WAIT` | seconds to wait for a locked ledger, ≥ 0 | 10 |
//! | `CLAIMS_TOKEN` | the token for a server named by `--db http(s)://…` | none |
//! | `PGPASSWORD` | the password for `--db postgres://…` without one | none |
//! | `PGPASSFILE` | the password file for `--db postgres://…` | `~/.pgpass` |
//! | `PGUSER` | the user for `--db postgres://…` without one | the login name (`USER`) |

use std::time::Duration;

/// A variable's value, `None` when unset or empty.
fn var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

/// Seconds, as a variable gives them: a finite number, at least `min`
/// (`zero_ok`: 0 is allowed).
fn seconds(name: &str, zero_ok: bool) -> Result<Option<Duration>, String> {
    let Some(v) = var(name)? else {
        return Ok(None);
    };
    let what = if zero_ok {
        "a number of seconds, 0 or more"
    } else {
        "a number of seconds greater than 0"
    };
    match v.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (s > 0.0 || (zero_ok && s == 0.0)) => {
            Ok(Some(Duration::from_secs_f64(s)))
        }
        _ => Err(format!("{name} must be {what}, not `{v}`")),
    }
}

/// Checks every variable; the first bad one is the error. Run once, first
/// thing: after it, the readers below only see good values. An empty
/// `CLAIMS_DB` is removed, so that everything after sees it unset.
pub fn check() -> Result<(), String> {
    if std::env::var_os("CLAIMS_DB").is_some_and(|v| v.to_string_lossy().trim().is_empty()) {
        // Still one thread: nothing else reads the environment yet.
        std::env::remove_var("CLAIMS_DB");
    }
    var("CLAIMS_DB")?;
    server_mode_value()?;
    seconds("CLAIMS_SERVER_IDLE", false)?;
    seconds("CLAIMS_LOCK_WAIT", true)?;
    Ok(())
}

/// `CLAIMS_SERVER`: whether commands use a ledger server (`true` for `auto`).
pub fn server_mode_value() -> Result<bool, String> {
    match var("CLAIMS_SERVER")?.as_deref().map(str::trim) {
        None | Some("auto") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(format!(
            "CLAIMS_SERVER must be `auto` or `off`, not `{other}`"
        )),
    }
}

/// `CLAIMS_SERVER_IDLE`, in seconds.
pub fn server_idle() -> Duration {
    seconds("CLAIMS_SERVER_IDLE", false)
        .ok()
        .flatten()
        .unwrap_or(Duration::from_secs(30))
}

/// `CLAIMS_TOKEN`: the token for a claims server.
pub fn token() -> Option<String> {
    var("CLAIMS_TOKEN")
        .ok()
        .flatten()
        .map(|t| t.trim().to_string())
}

/// `CLAIMS_LOCK_WAIT`.
pub fn lock_wait() -> Duration {
    seconds("CLAIMS_LOCK_WAIT", true)
        .ok()
        .flatten()
        .unwrap_or(Duration::from_secs(10))
}

/// What a `--db postgres://…` leaves out, as libpq fills it in: the
/// password from `PGPASSWORD` or the password file (`PGPASSFILE`, else
/// `~/.pgpass`), the user from `PGUSER` or the login name, the root
/// certificates from `PGSSLROOTCERT` or `~/.postgresql/root.crt`.
pub fn pg_defaults() -> claims_store_pg::url::Defaults {
    let get = |name: &str| var(name).ok().flatten();
    let home = |file: &str| get("HOME").map(|h| std::path::Path::new(&h).join(file));
    let passfile = get("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| home(".pgpass"));
    let root_cert = get("PGSSLROOTCERT")
        .map(std::path::PathBuf::from)
        .or_else(|| home(".postgresql/root.crt"));
    claims_store_pg::url::Defaults {
        password: get("PGPASSWORD"),
        passfile,
        user: get("PGUSER")
            .or_else(|| get("USER"))
            .or_else(|| get("LOGNAME")),
        root_cert,
        ..claims_store_pg::url::Defaults::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_checked() {
        for (v, zero_ok, ok) in [
            ("abc", true, false),
            ("-1", true, false),
            ("0", true, true),
            ("0", false, false),
            ("2.5", false, true),
            ("inf", true, false),
            ("NaN", true, false),
        ] {
            std::env::set_var("CLAIMS_TEST_SECONDS", v);
            assert_eq!(
                seconds("CLAIMS_TEST_SECONDS", zero_ok).is_ok(),
                ok,
                "{v} zero_ok={zero_ok}"
            );
        }
        std::env::set_var("CLAIMS_TEST_SECONDS", " ");
        assert_eq!(seconds("CLAIMS_TEST_SECONDS", true), Ok(None));
    }
}
