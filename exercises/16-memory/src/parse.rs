//! Given: a parser for integer arithmetic. Read it, but do not change it
//! (the reference solution uses this very file).
//!
//! The parser does not decide where nodes live. It calls the methods of a
//! [`Build`] implementation, yours, once per node: one implementation puts
//! each node in its own `Box`, another puts them all in an arena. The parser
//! itself allocates nothing: it walks the string and recurses on the stack.
//!
//! Grammar (whitespace between tokens is skipped):
//!
//! ```text
//! expr  = term  (('+' | '-') term)*
//! term  = unary (('*' | '/') unary)*
//! unary = '-' unary | atom
//! atom  = number | '(' expr ')'
//! ```
//!
//! Numbers are decimal literals that fit an `i64`; a minus sign is the unary
//! operator. `+ -` and `* /` are left-associative: `8 - 2 - 1` is
//! `(8 - 2) - 1`.

use std::fmt;

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    /// Applies the operator with checked arithmetic: overflow and division
    /// by zero are errors, never a panic or a wrapped result.
    pub fn apply(self, left: i64, right: i64) -> Result<i64, EvalError> {
        match self {
            Op::Add => left.checked_add(right).ok_or(EvalError::Overflow),
            Op::Sub => left.checked_sub(right).ok_or(EvalError::Overflow),
            Op::Mul => left.checked_mul(right).ok_or(EvalError::Overflow),
            Op::Div if right == 0 => Err(EvalError::DivisionByZero),
            Op::Div => left.checked_div(right).ok_or(EvalError::Overflow),
        }
    }
}

/// Why an expression has no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A result does not fit an `i64`.
    Overflow,
    /// A division by zero.
    DivisionByZero,
}

/// Negates with checked arithmetic (`-i64::MIN` overflows).
pub fn negate(value: i64) -> Result<i64, EvalError> {
    value.checked_neg().ok_or(EvalError::Overflow)
}

/// Where the nodes of a parsed expression go. The parser calls these
/// methods bottom-up: the children of a node are built before the node.
pub trait Build {
    /// A built node: a `Box`, a reference into an arena, an index ...
    type Node;
    /// A number literal.
    fn num(&mut self, value: i64) -> Self::Node;
    /// A unary minus applied to `inner`.
    fn neg(&mut self, inner: Self::Node) -> Self::Node;
    /// `left op right`.
    fn bin(&mut self, op: Op, left: Self::Node, right: Self::Node) -> Self::Node;
}

/// The deepest tree the parser accepts. Evaluating a tree and dropping a tree
/// of `Box`es both recurse once per level; a limit keeps a hostile input such
/// as `1+1+1+...` (a left-deep chain) or `((((...` from overflowing the stack.
pub const MAX_DEPTH: usize = 1_000;

/// A syntax error, with the byte offset where it was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the source.
    pub at: usize,
    /// What was wrong there.
    pub what: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for ParseError {}

/// Parses `src`, building its nodes with `build`, and returns the root.
pub fn parse<B: Build>(src: &str, build: &mut B) -> Result<B::Node, ParseError> {
    let mut p = Parser {
        src: src.as_bytes(),
        pos: 0,
        build,
    };
    let (root, _) = p.expr(0)?;
    p.skip_spaces();
    if p.pos < p.src.len() {
        return Err(p.error("unexpected character"));
    }
    Ok(root)
}

struct Parser<'s, 'b, B> {
    src: &'s [u8],
    pos: usize,
    build: &'b mut B,
}

// Each method returns the node and the depth of its subtree.
impl<B: Build> Parser<'_, '_, B> {
    fn error(&self, what: &'static str) -> ParseError {
        ParseError { at: self.pos, what }
    }

    fn skip_spaces(&mut self) {
        while self.src.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_spaces();
        self.src.get(self.pos).copied()
    }

    fn deeper(&self, depth: usize) -> Result<usize, ParseError> {
        if depth >= MAX_DEPTH {
            Err(self.error("expression nested too deeply"))
        } else {
            Ok(depth + 1)
        }
    }

    /// `nesting` counts the parentheses and unary minuses around this call,
    /// so that `((((...` is refused before it exhausts the stack.
    fn expr(&mut self, nesting: usize) -> Result<(B::Node, usize), ParseError> {
        let (mut left, mut depth) = self.term(nesting)?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            let op = if c == b'+' { Op::Add } else { Op::Sub };
            let (right, d) = self.term(nesting)?;
            depth = self.deeper(depth.max(d))?;
            left = self.build.bin(op, left, right);
        }
        Ok((left, depth))
    }

    fn term(&mut self, nesting: usize) -> Result<(B::Node, usize), ParseError> {
        let (mut left, mut depth) = self.unary(nesting)?;
        while let Some(c @ (b'*' | b'/')) = self.peek() {
            self.pos += 1;
            let op = if c == b'*' { Op::Mul } else { Op::Div };
            let (right, d) = self.unary(nesting)?;
            depth = self.deeper(depth.max(d))?;
            left = self.build.bin(op, left, right);
        }
        Ok((left, depth))
    }

    fn unary(&mut self, nesting: usize) -> Result<(B::Node, usize), ParseError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
            let nesting = self.deeper(nesting)?;
            let (inner, depth) = self.unary(nesting)?;
            let depth = self.deeper(depth)?;
            return Ok((self.build.neg(inner), depth));
        }
        self.atom(nesting)
    }

    fn atom(&mut self, nesting: usize) -> Result<(B::Node, usize), ParseError> {
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let nesting = self.deeper(nesting)?;
                let inner = self.expr(nesting)?;
                if self.peek() != Some(b')') {
                    return Err(self.error("expected `)`"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(b'0'..=b'9') => {
                let start = self.pos;
                let mut value: i64 = 0;
                while let Some(&d @ b'0'..=b'9') = self.src.get(self.pos) {
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(i64::from(d - b'0')))
                        .ok_or(ParseError {
                            at: start,
                            what: "number does not fit an i64",
                        })?;
                    self.pos += 1;
                }
                Ok((self.build.num(value), 1))
            }
            Some(_) => Err(self.error("expected a number, `-` or `(`")),
            None => Err(self.error("unexpected end of input")),
        }
    }
}
