//! The pager, as git does it: when standard output is a terminal, the
//! output of a reading command goes through `$CLAIMS_PAGER`, else `$PAGER`,
//! else `less -FRX` (`-F`: quit at once when it fits on one screen; `-X`:
//! leave it on the screen). `--no-pager`, or `CLAIMS_PAGER` set empty, turns
//! it off. Piped output is never paged.

use std::io::{IsTerminal, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

/// The commands whose output is paged.
pub const PAGED: &[&str] = &["state", "show", "audit", "diff", "log", "stories"];

/// The pager command to run, if output should be paged: standard output is
/// a terminal, `--no-pager` was not given, and no variable turns it off.
pub fn wanted(no_pager: bool) -> Option<String> {
    if no_pager || !std::io::stdout().is_terminal() {
        return None;
    }
    let chosen = match std::env::var("CLAIMS_PAGER") {
        Ok(v) => v,
        Err(_) => std::env::var("PAGER").unwrap_or_else(|_| "less -FRX".into()),
    };
    let chosen = chosen.trim().to_string();
    (!chosen.is_empty() && chosen != "cat").then_some(chosen)
}

/// A running pager that takes the output on its standard input.
pub struct Pager {
    child: Child,
}

impl Pager {
    /// Starts `cmd` through the shell (it may carry options). `LESS` is set
    /// to `FRX` unless the user set it, as git does.
    pub fn start(cmd: &str) -> Option<Pager> {
        let mut c = Command::new("sh");
        c.arg("-c").arg(cmd).stdin(Stdio::piped());
        if std::env::var_os("LESS").is_none() {
            c.env("LESS", "FRX");
        }
        c.spawn().ok().map(|child| Pager { child })
    }

    /// Where the output goes.
    pub fn input(&mut self) -> &mut ChildStdin {
        self.child.stdin.as_mut().expect("piped")
    }
}

impl Drop for Pager {
    /// Ends the output and waits for the reader to quit the pager, so that
    /// the shell's prompt does not come back under it.
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}
