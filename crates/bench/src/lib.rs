//! The benchmark's shared part: the deterministic workload (`workload`),
//! used by the `gen` and `bench` binaries.

pub mod workload;
