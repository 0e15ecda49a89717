//! The benchmark's binaries are linked non-PIE like `claims` (see the
//! top-level build.rs), so that its SQLite child processes start as fast as
//! `claims` does and the comparison is fair.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
