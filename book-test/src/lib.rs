//! The book's code blocks as tests.
//!
//! `build.rs` copies every Markdown file of `src/` into `OUT_DIR` with mdBook's
//! `{{#include}}` directives expanded (skeptic reads raw Markdown and would
//! otherwise try to compile the directive), then asks skeptic to turn each
//! ```` ```rust ```` block into a test that compiles the block with `rustc`
//! against this crate's dependencies and runs it.
//!
//! Run them with `cargo test -p book-test`.

#[cfg(test)]
mod book {
    include!(concat!(env!("OUT_DIR"), "/skeptic-tests.rs"));
}
