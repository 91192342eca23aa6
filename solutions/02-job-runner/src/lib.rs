//! Exercise 02.
