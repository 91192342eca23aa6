//! Exercise 04.
