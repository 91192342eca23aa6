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

// One `Box` per node: the global allocator is called once for each.
struct BoxBuilder;

impl Build for BoxBuilder {
    type Node = Box<BoxedExpr>;
    fn num(&mut self, value: i64) -> Self::Node {
        Box::new(BoxedExpr::Num(value))
    }
    fn neg(&mut self, inner: Self::Node) -> Self::Node {
        Box::new(BoxedExpr::Neg(inner))
    }
    fn bin(&mut self, op: Op, left: Self::Node, right: Self::Node) -> Self::Node {
        Box::new(BoxedExpr::Bin(op, left, right))
    }
}

// Every node is bumped into the arena: the global allocator is called only
// when the arena needs a new chunk.
struct ArenaBuilder<'a> {
    arena: &'a Bump,
}

impl<'a> Build for ArenaBuilder<'a> {
    type Node = &'a Expr<'a>;
    fn num(&mut self, value: i64) -> Self::Node {
        self.arena.alloc(Expr::Num(value))
    }
    fn neg(&mut self, inner: Self::Node) -> Self::Node {
        self.arena.alloc(Expr::Neg(inner))
    }
    fn bin(&mut self, op: Op, left: Self::Node, right: Self::Node) -> Self::Node {
        self.arena.alloc(Expr::Bin(op, left, right))
    }
}

/// Parses `src` into a tree of boxes: one heap allocation per node.
pub fn parse_boxed(src: &str) -> Result<Box<BoxedExpr>, ParseError> {
    parse::parse(src, &mut BoxBuilder)
}

/// Parses `src` into `arena`: every node is allocated in the arena, none
/// with `Box`, so the global allocator is called only when the arena needs
/// a new chunk of memory.
pub fn parse_in<'a>(arena: &'a Bump, src: &str) -> Result<&'a Expr<'a>, ParseError> {
    parse::parse(src, &mut ArenaBuilder { arena })
}

impl BoxedExpr {
    /// The value of the expression, with checked arithmetic ([`Op::apply`],
    /// [`parse::negate`]).
    pub fn eval(&self) -> Result<i64, EvalError> {
        match self {
            BoxedExpr::Num(n) => Ok(*n),
            BoxedExpr::Neg(inner) => parse::negate(inner.eval()?),
            BoxedExpr::Bin(op, left, right) => op.apply(left.eval()?, right.eval()?),
        }
    }
}

impl Expr<'_> {
    /// The value of the expression, with checked arithmetic ([`Op::apply`],
    /// [`parse::negate`]).
    pub fn eval(&self) -> Result<i64, EvalError> {
        match self {
            Expr::Num(n) => Ok(*n),
            Expr::Neg(inner) => parse::negate(inner.eval()?),
            Expr::Bin(op, left, right) => op.apply(left.eval()?, right.eval()?),
        }
    }
}
