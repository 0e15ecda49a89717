//! How the core's typed hints are said: in the command line's terms (its
//! commands and options). The CLI prints them after an error; the HTTP API
//! sends the same words in an error's `hint`, so a remote command prints
//! exactly what a local one would.

use std::borrow::Cow;

use claims_core::error::Hint;

/// A hint in the command line's words.
pub fn hint_words(hint: &Hint) -> Cow<'_, str> {
    Cow::Borrowed(match hint {
        Hint::Say(s) => return Cow::Borrowed(s),
        Hint::ListIds(what) => {
            return Cow::Owned(format!("list {what}s with `claims log` or `claims state`"))
        }
        Hint::NameLedger => "pass a claims ledger with --db, or a new path to create one",
        Hint::NameLedgerDirectory => {
            "pass the ledger's directory with --db, or a new path to create one"
        }
        Hint::CreateLedger => {
            "record a claim with `claims assert` or load events with `claims append`, or pass --db"
        }
        Hint::RestoreIntoNewLedger => {
            "restore the ledger from an export with `claims import` into a new --db"
        }
        Hint::RestoreFromExport => {
            "if it is damaged, restore it from an export with `claims import`"
        }
        Hint::Verify => "run `claims verify` to find the first bad entry",
        Hint::VerifyThenRestore => "run `claims verify`, and restore from an export if it fails",
        Hint::RebuildIndexes => {
            "the log itself verifies; rebuild the ledger with `claims export` and `claims import`"
        }
        Hint::VerifyThenRebuildIndexes => {
            "run `claims verify`; `claims export` and `claims import` rebuild the indexes"
        }
        Hint::Reopen => "open the ledger again: opening recovers to the last commit",
        Hint::TryAgainLater => "try again when the other claims command has finished",
        Hint::NewerFormat => {
            "upgrade claims, or export the ledger with the newer version and import it here"
        }
        Hint::UpgradeProgram => "upgrade claims to the version that wrote this ledger",
        Hint::ImportIntoEmptyLedger => "import into an empty ledger (a new --db)",
        Hint::ImportWholeExport => "import takes a whole `claims export`, not a filtered one",
        Hint::ListStories => "list the stories with `claims stories`",
        Hint::TimeForms => {
            "write RFC 3339 (2020-07-10T15:00:00-04:00), a date-time in --tz (2020-07-10T15:00), a date (2020-07-10) or an interval A/B"
        }
        Hint::FreeSpace => {
            "free some space on the disk that holds the ledger and run the command again (a repeated `append` is a no-op)"
        }
        Hint::AcceptFutureTimes => {
            "check the clock of the machine that wrote the file; if the times are right, pass --accept-future-times"
        }
        // A hint this build does not know how to say is left out.
        _ => return Cow::Borrowed(""),
    })
}
