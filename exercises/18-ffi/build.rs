//! Compiles the C library in `c/` with the `cc` crate and links it into the
//! crate. Given code: you do not edit it.
//!
//! The solution (`solutions/18-ffi`) uses this same file, so paths start
//! from the package's directory and go through `../../exercises/18-ffi`,
//! which is right for both packages.

use std::path::PathBuf;

fn main() {
    // ANCHOR: build
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let c = manifest.join("../../exercises/18-ffi/c");
    let sources = [c.join("kv.c"), c.join("calls_rust.c")];

    // Re-run this script (and recompile the C code) only when a C file
    // changes, not after every edit of src/lib.rs.
    for file in sources.iter().chain([&c.join("kv.h")]) {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    cc::Build::new()
        .files(&sources)
        .include(&c)
        .std("c11")
        .warnings_into_errors(true)
        .compile("kv"); // writes libkv.a and tells cargo to link it
    // ANCHOR_END: build
}
