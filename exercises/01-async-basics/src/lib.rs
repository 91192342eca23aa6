//! Exercise 01.
