//! The `claims` command. All of it lives in `cli/`; the library does the work.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
