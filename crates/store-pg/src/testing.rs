//! A private PostgreSQL for tests: a throw-away cluster in a temporary
//! directory, on a free port of 127.0.0.1, with a password, started by
//! `pg_ctl` and stopped when the [`TempCluster`] is dropped.
//!
//! The server binaries are Debian's (`pg_config --bindir`, or the newest
//! `/usr/lib/postgresql/*/bin`); `.ci/run` installs the package when they
//! are missing. A test that needs PostgreSQL and finds no binaries fails
//! with a sentence saying so: it never skips. PostgreSQL refuses to run as
//! root, so under root the cluster belongs to `nobody` and its programs
//! run as that user.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The superuser of a test cluster.
pub const USER: &str = "claims";

/// A running throw-away PostgreSQL cluster.
///
/// [`TempCluster::start_tls`] makes one that takes TCP connections only
/// over TLS (`hostssl` in `pg_hba.conf`), so that a test can tell TLS was
/// used.
pub struct TempCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    password: String,
    owner: Option<(u32, u32)>,
    databases: AtomicU32,
    tls: bool,
}

/// The directory of PostgreSQL's server programs.
fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return dir;
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "the PostgreSQL tests need PostgreSQL's server programs (initdb, pg_ctl) and found none: \
             install Debian's postgresql package (apt-get install postgresql), as .ci/run does"
        ),
    }
}

/// `nobody`'s uid and gid, from /etc/passwd.
fn nobody() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"nobody") && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .unwrap_or((65534, 65534))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn chown_all(path: &Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown the test cluster");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read the test cluster's directory") {
            chown_all(&e.expect("an entry").path(), (uid, gid));
        }
    }
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl TempCluster {
    /// Creates and starts a cluster; panics (with what PostgreSQL said) if
    /// it cannot.
    pub fn start() -> TempCluster {
        TempCluster::start_with(None)
    }

    /// [`TempCluster::start`], serving TLS (`ssl = on`) with this
    /// certificate and key (PEM) as well as plain connections.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> TempCluster {
        TempCluster::start_with(Some((cert_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> TempCluster {
        let bin = bindir();
        let dir = tempfile::Builder::new()
            .prefix("claims-pg-")
            .tempdir()
            .expect("a temporary directory");
        let is_root = std::fs::metadata(dir.path())
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let owner = is_root.then(nobody);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let password = format!("pw-{:x}-{}", nanos, std::process::id());
        std::fs::write(dir.path().join("pwfile"), format!("{password}\n")).expect("write pwfile");
        std::fs::create_dir(dir.path().join("socket")).expect("socket directory");
        if let Some((cert, key)) = tls {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(dir.path().join("server.crt"), cert).expect("write the certificate");
            let key_path = dir.path().join("server.key");
            std::fs::write(&key_path, key).expect("write the key");
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))
                .expect("key mode");
        }
        if let Some(o) = owner {
            chown_all(dir.path(), o);
        }
        let mut c = TempCluster {
            dir,
            bin,
            port: 0,
            password,
            owner,
            databases: AtomicU32::new(0),
            tls: tls.is_some(),
        };
        let data = c.data();
        let pwfile = c.dir.path().join("pwfile");
        let out = c
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", output_text(&out));
        if c.tls {
            // TCP only with TLS; the Unix socket for the tests' own set-up.
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
            )
            .expect("write pg_hba.conf");
            if let Some(o) = owner {
                chown_all(&data.join("pg_hba.conf"), o);
            }
        }
        let mut last = String::new();
        for _ in 0..5 {
            c.port = free_port();
            match c.try_start() {
                Ok(()) => return c,
                Err(e) => last = e,
            }
        }
        panic!("the test PostgreSQL did not start: {last}");
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.env("LC_ALL", "C")
            .env_remove("PGDATA")
            .current_dir(self.dir.path());
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn try_start(&self) -> Result<(), String> {
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=on -c max_connections=200",
            self.port,
            self.dir.path().join("socket").display()
        );
        if self.tls {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                self.dir.path().join("server.crt").display(),
                self.dir.path().join("server.key").display()
            ));
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            Err(format!("{}\n{log}", output_text(&out)))
        }
    }

    /// Starts the cluster again (after [`TempCluster::stop_immediate`]), on
    /// the same port.
    pub fn start_again(&self) {
        if let Err(e) = self.try_start() {
            panic!("the test PostgreSQL did not start again: {e}");
        }
    }

    /// Stops the cluster as a crash would (`pg_ctl stop -m immediate`: no
    /// checkpoint; recovery replays the WAL at the next start).
    pub fn stop_immediate(&self) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            output_text(&out)
        );
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The URL of database `db` (which may not exist).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{db}?sslmode=disable",
            self.password, self.port
        )
    }

    /// Creates a fresh empty database and returns its URL.
    pub fn new_database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        let name = format!("ledger{n}");
        self.admin("postgres")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        self.url(&name)
    }

    /// Runs SQL as the superuser on the database `db_url` names.
    pub fn sql(&self, db_url: &str, sql: &str) {
        let config: postgres::Config = db_url.parse().expect("a database URL");
        let db = config.get_dbname().expect("a database name").to_string();
        self.admin(&db).batch_execute(sql).expect("run test SQL");
    }

    /// The superuser's connection to `db` through the cluster's Unix socket
    /// (a TLS-only cluster takes no plain TCP connection).
    fn admin(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host_path(self.dir.path().join("socket"))
            .port(self.port)
            .user(USER)
            .password(&self.password)
            .dbname(db)
            .connect(postgres::NoTls)
            .expect("connect to the test PostgreSQL")
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"])
            .output();
    }
}
