//! Links the `claims` executable as a position-dependent (non-PIE) binary on
//! Linux: the loader then has no relocations to apply at start-up, which
//! takes about a third off the start-up of a short command (BENCHMARKS.md,
//! change 8). The examples get the same, so that the benchmark's SQLite
//! side (a child process of `examples/bench.rs`) starts as fast as `claims`
//! does. Libraries, tests and proc-macros are built as usual.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        println!("cargo:rustc-link-arg-examples=-no-pie");
    }
}
