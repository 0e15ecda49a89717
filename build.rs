//! Links the `claims` executable as a position-dependent (non-PIE) binary on
//! Linux: the loader then has no relocations to apply at start-up, which
//! takes about a third off the start-up of a short command (BENCHMARKS.md,
//! change 8). The benchmark crate does the same for its SQLite child
//! processes (crates/bench/build.rs). Libraries, tests and proc-macros are
//! built as usual.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
