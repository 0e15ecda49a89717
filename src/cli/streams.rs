//! Where a command's input and output go: this process's own streams and
//! working directory, or, when the ledger server runs the command, the
//! client's (through the socket; see `serve.rs`).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// A command's standard streams, terminal facts and working directory.
pub trait Streams {
    /// Standard output.
    fn stdout(&self) -> Box<dyn Write + '_>;
    /// All of standard input.
    fn read_stdin(&self) -> std::io::Result<Vec<u8>>;
    /// Standard input to read as it comes (by default, all of it at once).
    fn stdin_reader(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(self.read_stdin()?)))
    }
    /// Whether standard input is a terminal.
    fn stdin_is_terminal(&self) -> bool;
    /// Whether standard error is a terminal (for progress bars).
    fn stderr_is_terminal(&self) -> bool;
    /// The terminal's width when standard output is a terminal.
    fn width(&self) -> Option<u16>;
    /// Writes one line to standard error.
    fn error_line(&self, line: &str);
    /// Resolves a file name the user gave against their working directory.
    fn path(&self, name: &Path) -> PathBuf;
    /// Whether a closed standard output ends this process (the local case).
    fn is_local(&self) -> bool;
}

/// This process's own streams.
#[derive(Default)]
pub struct Local {
    /// Standard input, when it was read before the command ran.
    pub stdin: std::cell::RefCell<Option<Vec<u8>>>,
    /// The pager standard output goes through, when one runs.
    pub pager: std::cell::RefCell<Option<super::pager::Pager>>,
}

/// Writes into the running pager.
struct ToPager<'a>(std::cell::RefMut<'a, super::pager::Pager>);

impl Write for ToPager<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.input().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.input().flush()
    }
}

impl Streams for Local {
    fn stdout(&self) -> Box<dyn Write + '_> {
        match std::cell::RefMut::filter_map(self.pager.borrow_mut(), Option::as_mut) {
            Ok(pager) => Box::new(ToPager(pager)),
            Err(_) => Box::new(std::io::stdout().lock()),
        }
    }

    fn read_stdin(&self) -> std::io::Result<Vec<u8>> {
        if let Some(bytes) = self.stdin.borrow_mut().take() {
            return Ok(bytes);
        }
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn stdin_reader(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(match self.stdin.borrow_mut().take() {
            Some(bytes) => Box::new(std::io::Cursor::new(bytes)),
            None => Box::new(std::io::stdin()),
        })
    }

    fn stdin_is_terminal(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn stderr_is_terminal(&self) -> bool {
        std::io::stderr().is_terminal()
    }

    fn width(&self) -> Option<u16> {
        terminal_width()
    }

    fn error_line(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    fn path(&self, name: &Path) -> PathBuf {
        name.to_path_buf()
    }

    fn is_local(&self) -> bool {
        true
    }
}

/// This process's terminal width, when its standard output is a terminal.
pub fn terminal_width() -> Option<u16> {
    comfy_table::Table::new().width()
}
