//! `claims completions`: shell completions.

use clap::CommandFactory;

use claims_core::Result;

/// Print shell completions (e.g. `claims completions bash > /etc/bash_completion.d/claims`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    pub shell: clap_complete::Shell,
}

pub fn run(ctx: &super::Ctx, args: Args) -> Result<()> {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "claims", &mut buf);
    ctx.out(&String::from_utf8_lossy(&buf))
}
