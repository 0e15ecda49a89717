//! The look shared by the SVG and the HTML page: the colour of each status
//! and of text on it, what each status means, and the font.

use claims_core::projection::Status;

/// The fonts the picture is written in.
pub(super) const FONT: &str = "'DejaVu Sans', Verdana, Arial, sans-serif";

/// The colour a status is drawn in.
pub fn status_colour(s: Status) -> &'static str {
    match s {
        Status::Reported => "#4c78a8",
        Status::Corroborated => "#2b8a3e",
        Status::Disputed => "#f59f00",
        Status::Refuted => "#d62728",
        Status::Superseded => "#868e96",
        Status::Retracted => "#7b2cbf",
    }
}

/// The colour of text written on a status's bar.
pub(super) fn status_text_colour(s: Status) -> &'static str {
    match s {
        Status::Disputed => "#222222",
        _ => "#ffffff",
    }
}

/// What a status means, in words (the legend's titles).
pub(super) fn status_meaning(s: Status) -> &'static str {
    match s {
        Status::Reported => "reported: asserted, nothing more",
        Status::Corroborated => "corroborated: confirmed by another party",
        Status::Disputed => "disputed: contested",
        Status::Refuted => "refuted: shown false",
        Status::Superseded => "superseded: replaced by a later claim",
        Status::Retracted => "retracted: withdrawn by the claimant's side",
    }
}
