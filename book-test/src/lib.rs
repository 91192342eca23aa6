//! The book's code blocks as tests.
//!
//! `build.rs` copies every Markdown file of `src/` into `OUT_DIR` with mdBook's
//! `{{#include}}` directives expanded (skeptic reads raw Markdown and would
//! otherwise try to compile the directive), then asks skeptic to turn each
//! ```` ```rust ```` block into a test that compiles the block with `rustc`
//! against this crate's dependencies and runs it. Each
//! ```` ```rust,compile_fail,E0382 ```` block becomes a test of its own
//! ([`compile_fail`]) that passes only if the compiler reports that error.
//!
//! Run them with `cargo test -p book-test`.

#[cfg(test)]
mod compile_fail;

#[cfg(test)]
// skeptic names a test after its section heading; a heading that is only
// code (`SeqCst`) leaves a double underscore in the name.
#[allow(non_snake_case)]
mod book {
    include!(concat!(env!("OUT_DIR"), "/skeptic-tests.rs"));
    include!(concat!(env!("OUT_DIR"), "/compile-fail-tests.rs"));
}
