//! Exercise 05.
