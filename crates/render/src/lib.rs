//! `claims-render`: pictures of the core's read models. Pure: no clock,
//! environment or I/O; the same input gives the same bytes. The command line
//! writes the files.

#![warn(missing_docs)]

mod text;
pub mod timeline;

pub use text::clean;
