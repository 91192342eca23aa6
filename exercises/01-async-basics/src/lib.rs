//! # Exercise 01: concurrent lookups with `join!`
//!
//! A shop's dashboard page needs a user and that user's orders, which live in
//! two slow services. The services are simulated in `src/services.rs` (they
//! only sleep, then return made-up data) and are already written: read that
//! file, but do not change it (the tests count on its latencies, and the
//! reference solution uses the same file). `pub use services::*` below makes
//! them callable by name here. Your job is to call them:
//!
//! 1. [`load_dashboard_sequential`]: one lookup after the other.
//! 2. [`load_dashboard`]: both lookups at the same time, with `tokio::join!`.
//! 3. [`try_load_dashboard`]: the fallible services, with `tokio::try_join!`,
//!    giving up as soon as one of them fails.
//! 4. [`fetch_prices`]: any number of price lookups at the same time, with
//!    `tokio::spawn`, answers in the order of the request.
//!
//! The tests run on tokio's paused clock, so they measure exactly how much
//! simulated time each function takes, without really waiting. Run them with
//!
//! ```text
//! cargo test -p exercise-01
//! ```
//!
//! and make every test pass. Stuck? `cargo course hint 01`, or read
//! `exercises/01-async-basics/hints.md`.

mod services;
pub use services::*;

// ---------------------------------------------------------------------------
// Your code.
// ---------------------------------------------------------------------------

/// Loads the dashboard of user `id` by awaiting [`fetch_user`] first and
/// [`fetch_orders`] after it.
///
/// Contract: returns the user and the orders of `id` exactly as the services
/// return them, and takes `USER_LATENCY + ORDERS_LATENCY` (800 ms): the
/// baseline that the concurrent version beats.
pub async fn load_dashboard_sequential(id: u32) -> Dashboard {
    // TODO: await the user, then await the orders, and build the Dashboard.
    todo!("load_dashboard_sequential: await fetch_user, then fetch_orders")
}

/// Loads the same dashboard as [`load_dashboard_sequential`], with both
/// lookups in flight at the same time.
///
/// Contract: same result, but takes only the longer of the two latencies,
/// `ORDERS_LATENCY` (500 ms). Runs in the caller's task: no spawning needed.
pub async fn load_dashboard(id: u32) -> Dashboard {
    // TODO: wait for both lookups together.
    todo!("load_dashboard: run fetch_user and fetch_orders concurrently")
}

/// Loads the dashboard from the fallible services [`try_fetch_user`] and
/// [`try_fetch_orders`], both in flight at the same time.
///
/// Contract:
/// - both succeed: `Ok(dashboard)` after `ORDERS_LATENCY` (500 ms);
/// - one fails: that error, returned as soon as it happens, without waiting
///   for the other lookup. For [`MISSING_USER`] that is
///   `Err(ShopError::UserNotFound(0))` after `USER_LATENCY` (300 ms), not 500 ms.
pub async fn try_load_dashboard(id: u32) -> Result<Dashboard, ShopError> {
    // TODO: wait for both fallible lookups together; stop at the first error.
    todo!("try_load_dashboard: run both fallible lookups concurrently")
}

/// Looks up the price of every product in `product_ids`, all at the same time.
///
/// Contract:
/// - returns one price per id, in the same order as `product_ids` (not in the
///   order the answers arrive); duplicates are looked up twice;
/// - takes as long as the slowest single lookup, the largest
///   [`price_latency`] among the ids (at most 500 ms, however many ids);
/// - an empty slice gives an empty `Vec` at once.
///
/// `fetch_price` never panics; if a lookup task failed anyway, this function
/// may panic.
pub async fn fetch_prices(product_ids: &[u32]) -> Vec<u64> {
    // TODO: start every lookup before waiting for any of them, then collect
    // the prices in input order.
    todo!("fetch_prices: start all the lookups, then collect them in order")
}
