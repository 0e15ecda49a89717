//! Which `--db` is a PostgreSQL URL, how it is shown (never with its
//! password), and connecting, with every failure in one sentence.

use std::time::Duration;

use claims_core::error::Hint;
use claims_core::{Error, ErrorKind, Result};
use postgres::config::{Host, SslMode};
use postgres::{Client, Config};

/// How long a connection may take before it is given up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `db` names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`).
pub fn is_postgres_url(db: &str) -> bool {
    let lower = db.get(..13).unwrap_or(db).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The URL as it may be shown: `postgres://USER@HOST:PORT/DB`, without a
/// password or any other parameter.
pub fn shown(config: &Config) -> String {
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    format!(
        "postgres://{user}{}/{}",
        address(config),
        config.get_dbname().unwrap_or("")
    )
}

/// `HOST:PORT` (the first of each), or the socket directory.
fn address(config: &Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(Host::Tcp(h)) if h.contains(':') => format!("[{h}]:{port}"),
        Some(Host::Tcp(h)) => format!("{h}:{port}"),
        Some(Host::Unix(p)) => format!("{}:{port}", p.display()),
        None => format!("localhost:{port}"),
    }
}

/// What the URL's `sslmode` asks of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// `disable`: no TLS.
    Off,
    /// `allow`, `prefer` or no `sslmode` (libpq's default): TLS if the
    /// server offers it, the certificate not checked; else without.
    Prefer,
    /// `require`: TLS, the server's certificate not checked (as libpq).
    Encrypt,
    /// `verify-ca` or `verify-full`: TLS, the certificate checked against
    /// the web's roots (or the PEM file of `sslrootcert`); with
    /// `verify-full` the host name too.
    Verify {
        /// The `sslrootcert` file, if given.
        root: Option<std::path::PathBuf>,
        /// `verify-full`: the certificate must name the host.
        host: bool,
    },
}

/// A connection string read: the client's configuration and the TLS asked.
#[derive(Debug, Clone)]
pub struct Target {
    /// The client's configuration (without `sslmode`/`sslrootcert`).
    pub config: Config,
    /// What `sslmode` asked.
    pub tls: Tls,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the URL leaves out, filled in as libpq does. The caller reads them
/// (from `PGPASSWORD`, `PGPASSFILE` or `~/.pgpass`, the login name): this
/// crate reads no environment.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// The password when the URL has none (`PGPASSWORD`).
    pub password: Option<String>,
    /// A password file (`PGPASSFILE`, else `~/.pgpass`): lines
    /// `host:port:database:user:password`, `*` matching anything, `\:`
    /// and `\\` escaped. Read only when the URL and `password` give none;
    /// a missing file is no password.
    pub passfile: Option<std::path::PathBuf>,
    /// The user when the URL names none (the login name).
    pub user: Option<String>,
    /// Unix socket directories to try, in order, when the URL names no
    /// host; the first that exists is used, else `localhost`.
    pub socket_dirs: Vec<std::path::PathBuf>,
    /// The root certificates for `verify-ca`/`verify-full` when the URL
    /// names no `sslrootcert` (`PGSSLROOTCERT`, else
    /// `~/.postgresql/root.crt`); used if the file exists, else the web's
    /// roots.
    pub root_cert: Option<std::path::PathBuf>,
}

impl Defaults {
    /// Defaults that fill in nothing but the host (Debian's socket
    /// directory, then /tmp, then localhost).
    pub fn none() -> Defaults {
        Defaults {
            socket_dirs: vec!["/var/run/postgresql".into(), "/tmp".into()],
            ..Defaults::default()
        }
    }
}

/// The fields of a password-file line, unescaped.
fn passfile_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.last_mut().expect("a field").push(n);
                }
            }
            ':' => out.push(String::new()),
            c => out.last_mut().expect("a field").push(c),
        }
    }
    out
}

/// The password a password file gives for `config`, if any.
fn from_passfile(path: &std::path::Path, config: &Config) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(_)) | None => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let want = [
        host.as_str(),
        port.as_str(),
        config.get_dbname().unwrap_or(""),
        config.get_user().unwrap_or(""),
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(passfile_fields)
        .find(|f| {
            f.len() == 5
                && f.iter()
                    .zip(want)
                    .all(|(field, want)| field == "*" || field == want)
        })
        .map(|f| f[4].clone())
}

/// The URL parameters the client takes (besides `sslmode` and
/// `sslrootcert`, read here).
const KNOWN: &[&str] = &[
    "user",
    "password",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "options",
    "application_name",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];

/// Reads `url` as a connection string. Its own error is not repeated: it
/// could quote the password.
pub fn parse(url: &str) -> Result<Target> {
    parse_with(url, &Defaults::none())
}

/// [`parse`], with what the URL leaves out taken from `defaults`.
pub fn parse_with(url: &str, defaults: &Defaults) -> Result<Target> {
    let bad = || {
        Error::invalid("the PostgreSQL URL given as the ledger does not read")
            .with_hint("write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE")
    };
    // `sslmode` and `sslrootcert` are read here: the client knows only
    // three modes, and no root file.
    // The scheme in lower case, as the client wants it (`POSTGRES://` is a
    // PostgreSQL URL too).
    let lowered;
    let url = match url.find("://") {
        Some(i) if url[..i].bytes().any(|b| b.is_ascii_uppercase()) => {
            lowered = format!("{}{}", url[..i].to_ascii_lowercase(), &url[i..]);
            lowered.as_str()
        }
        _ => url,
    };
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut mode = String::from("prefer");
    let mut root = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => mode = percent_decode(v),
            "sslrootcert" => root = Some(percent_decode(v)),
            k if KNOWN.contains(&k) => kept.push(pair),
            // A key is not a secret; its value may be (`password=`).
            k => {
                return Err(Error::invalid(format!(
                    "the PostgreSQL URL has a parameter claims does not know: {}",
                    percent_decode(k).escape_debug()
                ))
                .with_hint(format!(
                    "the parameters it knows: sslmode, sslrootcert, {}",
                    KNOWN.join(", ")
                )))
            }
        }
    }
    // Asked only when the certificate is checked. `sslrootcert=system` (as
    // libpq 16): the web's roots; none named: the default file if there is
    // one, else the web's roots too.
    let root = || match root.as_deref() {
        Some("system") => None,
        Some(named) if !named.is_empty() => Some(std::path::PathBuf::from(named)),
        _ => defaults.root_cert.clone().filter(|p| p.is_file()),
    };
    let tls = match mode.as_str() {
        "disable" => Tls::Off,
        "allow" | "prefer" => Tls::Prefer,
        "require" => Tls::Encrypt,
        "verify-ca" => Tls::Verify {
            root: root(),
            host: false,
        },
        "verify-full" => Tls::Verify {
            root: root(),
            host: true,
        },
        _ => {
            return Err(Error::invalid(format!(
                "the PostgreSQL URL asks for sslmode {mode:?}, which is none of disable, allow, prefer, require, verify-ca and verify-full"
            )))
        }
    };
    let rebuilt = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: Config = rebuilt.parse().map_err(|_| bad())?;
    config.ssl_mode(match tls {
        Tls::Off => SslMode::Disable,
        Tls::Prefer => SslMode::Prefer,
        _ => SslMode::Require,
    });
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_dbname().is_none() {
        return Err(
            Error::invalid("the PostgreSQL URL given as the ledger names no database")
                .with_hint("write it as postgres://USER@HOST:PORT/DATABASE"),
        );
    }
    if config.get_user().is_none() {
        match &defaults.user {
            Some(u) => {
                config.user(u);
            }
            None => {
                return Err(
                    Error::invalid("the PostgreSQL URL given as the ledger names no user")
                        .with_hint("write it as postgres://USER@HOST:PORT/DATABASE"),
                )
            }
        }
    }
    if config.get_hosts().is_empty() {
        match defaults.socket_dirs.iter().find(|d| d.is_dir()) {
            Some(dir) => config.host_path(dir),
            None => config.host("localhost"),
        };
    }
    if config.get_password().is_none() {
        let password = defaults.password.clone().or_else(|| {
            defaults
                .passfile
                .as_deref()
                .and_then(|p| from_passfile(p, &config))
        });
        if let Some(p) = password {
            config.password(p);
        }
    }
    Ok(Target { config, tls })
}

/// Connects, with TLS as the URL's `sslmode` asks (rustls).
pub fn connect(target: &Target) -> Result<Client> {
    let config = &target.config;
    let result = match &target.tls {
        Tls::Off => config.connect(postgres::NoTls),
        Tls::Prefer | Tls::Encrypt => config.connect(crate::tls::encrypt_only()?),
        Tls::Verify { root, host } => {
            config.connect(crate::tls::verifying(root.as_deref(), *host)?)
        }
    };
    result.map_err(|e| connect_error(config, &e))
}

/// One sentence for a failed connection: what PostgreSQL or the network
/// said, never the URL's password.
fn connect_error(config: &Config, e: &postgres::Error) -> Error {
    let at = address(config);
    let db = config.get_dbname().unwrap_or("");
    if let Some(d) = e.as_db_error() {
        let code = d.code().code();
        let (message, hint) = match code {
            "28P01" | "28000" => (
                format!(
                    "PostgreSQL at {at} refused the user {} for database {db}: {}",
                    config.get_user().unwrap_or("?"),
                    d.message()
                ),
                "check the user name and password in the URL",
            ),
            "3D000" => (
                format!("PostgreSQL at {at} has no database {db}"),
                "create it first (createdb), or name another database",
            ),
            _ => (
                format!("PostgreSQL at {at} refused the connection: {}", d.message()),
                "check the URL and the server's configuration",
            ),
        };
        return Error::new(ErrorKind::InvalidInput, message).with_hint(Hint::Say(hint.into()));
    }
    let cause = cause_of(e);
    if cause == "password missing" {
        return Error::invalid(format!(
            "PostgreSQL at {at} asks for the password of user {} and none was given",
            config.get_user().unwrap_or("?")
        ))
        .with_hint(Hint::Say(
            "put it in the URL (postgres://USER:PASSWORD@…), in PGPASSWORD, or in ~/.pgpass".into(),
        ));
    }
    if cause.contains("certificate") {
        return Error::new(
            ErrorKind::Io,
            format!("could not connect to PostgreSQL at {at}: {cause}"),
        )
        .with_hint(Hint::Say(
            "the server's TLS certificate was not accepted: name the CA that signed it with sslrootcert=FILE, or use sslmode=require to encrypt without checking it".into(),
        ));
    }
    Error::new(
        ErrorKind::Io,
        format!("could not connect to PostgreSQL at {at}: {cause}"),
    )
    .with_hint(Hint::Say(
        "check that PostgreSQL runs there and that the host and port are right".into(),
    ))
}

/// The innermost cause's words (an I/O error's, or the client's own),
/// lower-cased as a clause.
pub(crate) fn cause_of(e: &postgres::Error) -> String {
    use std::error::Error as _;
    let mut words = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        words = s.to_string();
        source = s.source();
    }
    let words = words.trim().trim_end_matches('.').to_string();
    match words.as_str() {
        "" => "the connection failed".into(),
        _ if words.contains("os error 111") || words.contains("Connection refused") => {
            "connection refused".into()
        }
        _ if words.contains("bytes remaining on stream") || words.contains("unexpected EOF") => {
            "the other end closed the connection without answering as PostgreSQL does".into()
        }
        _ if words.contains("timed out") || words.contains("timeout") => {
            format!("no answer within {} seconds", CONNECT_TIMEOUT.as_secs())
        }
        _ => words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_from_paths() {
        for yes in ["postgres://a@b/c", "postgresql://h/d", "POSTGRES://x/y"] {
            assert!(is_postgres_url(yes), "{yes}");
        }
        for no in [
            "claims.db",
            "http://h:1",
            "./postgres://x",
            "postgres:/x",
            "",
        ] {
            assert!(!is_postgres_url(no), "{no}");
        }
    }

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        let tls = |q: &str| parse(&format!("postgres://u@h/d{q}")).unwrap().tls;
        assert_eq!(tls(""), Tls::Prefer);
        assert_eq!(tls("?sslmode=prefer"), Tls::Prefer);
        assert_eq!(tls("?sslmode=allow"), Tls::Prefer);
        assert_eq!(tls("?sslmode=disable"), Tls::Off);
        assert_eq!(tls("?sslmode=require"), Tls::Encrypt);
        assert_eq!(
            tls("?sslmode=verify-ca&sslrootcert=%2Fca.pem"),
            Tls::Verify {
                root: Some("/ca.pem".into()),
                host: false
            }
        );
        assert_eq!(
            tls("?sslmode=verify-full"),
            Tls::Verify {
                root: None,
                host: true
            }
        );
        let c = parse("postgres://u@h/d").unwrap();
        assert_eq!(c.config.get_ssl_mode(), SslMode::Prefer);
    }

    #[test]
    fn the_root_certificates_come_from_the_url_else_the_default_file_else_the_web() {
        let dir = std::env::temp_dir().join(format!("claims-root-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("root.crt");
        std::fs::write(&file, "not read here").unwrap();
        let with = |root_cert: &std::path::Path| Defaults {
            root_cert: Some(root_cert.to_path_buf()),
            ..Defaults::none()
        };
        let root = |q: &str, d: &Defaults| match parse_with(&format!("postgres://u@h/d?{q}"), d)
            .unwrap()
            .tls
        {
            Tls::Verify { root, .. } => root,
            other => panic!("{other:?}"),
        };
        // The default file, when it exists;
        assert_eq!(root("sslmode=verify-ca", &with(&file)), Some(file.clone()));
        assert_eq!(root("sslmode=verify-full", &with(&dir.join("none"))), None);
        // the URL's own file before it, and `system` for the web's roots.
        let named = format!(
            "sslmode=verify-full&sslrootcert={}",
            dir.join("mine.pem").display()
        );
        assert_eq!(root(&named, &with(&file)), Some(dir.join("mine.pem")));
        assert_eq!(
            root("sslmode=verify-ca&sslrootcert=system", &with(&file)),
            None
        );
        assert_eq!(
            root("sslmode=verify-ca&sslrootcert=", &with(&file)),
            Some(file.clone())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_shown_url_has_no_password() {
        let c = parse("postgres://desk:s3cret-pw@db.example:6543/news?sslmode=disable").unwrap();
        assert_eq!(c.tls, Tls::Off);
        let s = shown(&c.config);
        assert_eq!(s, "postgres://desk@db.example:6543/news");
        assert!(!s.contains("s3cret"));
    }

    #[test]
    fn what_the_url_leaves_out_comes_from_the_defaults_and_the_password_file() {
        let dir = std::env::temp_dir().join(format!("claims-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pass = dir.join("pgpass");
        std::fs::write(
            &pass,
            "# comment\nother:5432:news:desk:wrong\ndb.example:6543:news:desk:p\\:w\ndb.example:*:*:*:any\n",
        )
        .unwrap();
        let d = Defaults {
            passfile: Some(pass.clone()),
            user: Some("login".into()),
            ..Defaults::none()
        };
        let c = parse_with("postgres://desk@db.example:6543/news", &d).unwrap();
        assert_eq!(c.config.get_password(), Some(&b"p:w"[..]));
        let c = parse_with("postgres://db.example:7000/other", &d).unwrap();
        assert_eq!(c.config.get_user(), Some("login"));
        assert_eq!(c.config.get_password(), Some(&b"any"[..]));
        // PGPASSWORD first; the URL's own password before either.
        let d = Defaults {
            password: Some("env".into()),
            ..d
        };
        let c = parse_with("postgres://desk@db.example:6543/news", &d).unwrap();
        assert_eq!(c.config.get_password(), Some(&b"env"[..]));
        let c = parse_with("postgres://desk:url@db.example:6543/news", &d).unwrap();
        assert_eq!(c.config.get_password(), Some(&b"url"[..]));
        // No user anywhere: one sentence.
        let e = parse_with("postgres://db.example/news", &Defaults::none()).unwrap_err();
        assert!(e.message().contains("names no user"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_upper_case_scheme_reads_and_an_unknown_parameter_is_named() {
        let c = parse("POSTGRES://u:pw@h:5433/db?application_name=desk").unwrap();
        assert_eq!(shown(&c.config), "postgres://u@h:5433/db");
        let e = parse("postgres://u:pw@h/db?bogus=1&password=pw-42").unwrap_err();
        assert!(e.message().contains("does not know: bogus"), "{e}");
        assert!(!e.to_string().contains("pw-42"), "{e}");
    }

    #[test]
    fn a_url_that_does_not_read_is_not_echoed() {
        let e = parse("postgres://u:pw-42@host:notaport/db").unwrap_err();
        assert!(!e.to_string().contains("pw-42"), "{e}");
        let e = parse("postgres://u:pw-42@host:5432").unwrap_err();
        assert!(e.message().contains("names no database"), "{e}");
    }
}
