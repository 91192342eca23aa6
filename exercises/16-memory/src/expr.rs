//! Part 3: one expression tree in `Box`es, the same tree in an arena.

use bumpalo::Bump;

use crate::parse::{self, Build, EvalError, Op, ParseError};

/// An expression tree whose nodes each live in their own heap allocation.
#[derive(Debug, PartialEq, Eq)]
pub enum BoxedExpr {
    Num(i64),
    Neg(Box<BoxedExpr>),
    Bin(Op, Box<BoxedExpr>, Box<BoxedExpr>),
}

/// The same tree with its nodes in an arena: the references borrow the
/// arena, which frees every node at once when it is dropped or reset.
#[derive(Debug, PartialEq, Eq)]
pub enum Expr<'a> {
    Num(i64),
    Neg(&'a Expr<'a>),
    Bin(Op, &'a Expr<'a>, &'a Expr<'a>),
}

// TODO: two implementations of `parse::Build`, one whose `Node` is a
// `Box<BoxedExpr>` and one whose `Node` is a `&'a Expr<'a>` in an arena.

/// Parses `src` into a tree of boxes: one heap allocation per node.
pub fn parse_boxed(src: &str) -> Result<Box<BoxedExpr>, ParseError> {
    todo!("parse::parse with a builder of boxes")
}

/// Parses `src` into `arena`: every node is allocated in the arena, none
/// with `Box`, so the global allocator is called only when the arena needs
/// a new chunk of memory.
pub fn parse_in<'a>(arena: &'a Bump, src: &str) -> Result<&'a Expr<'a>, ParseError> {
    todo!("parse::parse with a builder that allocates in `arena`")
}

impl BoxedExpr {
    /// The value of the expression, with checked arithmetic ([`Op::apply`],
    /// [`parse::negate`]).
    pub fn eval(&self) -> Result<i64, EvalError> {
        todo!()
    }
}

impl Expr<'_> {
    /// The value of the expression, with checked arithmetic ([`Op::apply`],
    /// [`parse::negate`]).
    pub fn eval(&self) -> Result<i64, EvalError> {
        todo!()
    }
}
