//! Exercise 03.
