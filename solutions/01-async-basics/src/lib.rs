//! # Exercise 01: concurrent lookups with `join!` (reference solution)
//!
//! Compare with your own version once your tests are green
//! (`cargo course solution 01 --diff`). Apart from this header and the
//! `#[path]` below, only the bodies of the four functions differ from the stub.
//!
//! A shop's dashboard page needs a user and that user's orders, which live in
//! two slow services, simulated in the exercise's
//! `exercises/01-async-basics/src/services.rs` (they only sleep, then return
//! made-up data). The exercise calls them:
//!
//! 1. [`load_dashboard_sequential`]: one lookup after the other.
//! 2. [`load_dashboard`]: both lookups at the same time, with `tokio::join!`.
//! 3. [`try_load_dashboard`]: the fallible services, with `tokio::try_join!`,
//!    giving up as soon as one of them fails.
//! 4. [`fetch_prices`]: any number of price lookups at the same time, with
//!    `tokio::spawn`, answers in the order of the request.
//!
//! The exercise's tests run against this crate too:
//!
//! ```text
//! cargo test -p solution-01
//! ```

// The simulated services are the exercise's own file, not a copy: the
// tests rely on their latencies, so there must be only one version.
#[path = "../../../exercises/01-async-basics/src/services.rs"]
mod services;
pub use services::*;

// ---------------------------------------------------------------------------
// The exercise: the four functions of the stub, written out.
// ---------------------------------------------------------------------------

/// Loads the dashboard of user `id` by awaiting [`fetch_user`] first and
/// [`fetch_orders`] after it.
///
/// Contract: returns the user and the orders of `id` exactly as the services
/// return them, and takes `USER_LATENCY + ORDERS_LATENCY` (800 ms): the
/// baseline that the concurrent version beats.
pub async fn load_dashboard_sequential(id: u32) -> Dashboard {
    // Each `.await` suspends this function until that lookup is done, so the
    // order lookup does not even start before the user has arrived.
    let user = fetch_user(id).await;
    let orders = fetch_orders(id).await;
    Dashboard { user, orders }
}

/// Loads the same dashboard as [`load_dashboard_sequential`], with both
/// lookups in flight at the same time.
///
/// Contract: same result, but takes only the longer of the two latencies,
/// `ORDERS_LATENCY` (500 ms). Runs in the caller's task: no spawning needed.
pub async fn load_dashboard(id: u32) -> Dashboard {
    // `join!` polls both futures from this one task, in turn, until both are
    // ready. No thread and no spawned task is involved: while one future
    // sleeps, the other makes progress. The two futures borrow nothing, but
    // `join!` would also work with futures that borrow local data, which
    // `tokio::spawn` would not accept.
    let (user, orders) = tokio::join!(fetch_user(id), fetch_orders(id));
    Dashboard { user, orders }
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
    // `try_join!` is `join!` that stops early: as soon as one future returns
    // `Err`, it returns that error and drops the other futures, which cancels
    // them. That is why a missing user is reported after 300 ms instead of
    // after the 500 ms order lookup. Both futures must have the same error
    // type (here `ShopError`); with different types, `map_err` one of them.
    let (user, orders) = tokio::try_join!(try_fetch_user(id), try_fetch_orders(id))?;
    Ok(Dashboard { user, orders })
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
    // `join!` needs the number of futures at compile time; here it is only
    // known at run time, so each lookup becomes its own task. A spawned task
    // starts running at once, before anyone awaits its handle: the loop below
    // starts all of them before waiting for any.
    let handles: Vec<_> = product_ids
        .iter()
        .map(|&id| tokio::spawn(fetch_price(id)))
        .collect();

    // Awaiting the handles one by one, in input order, keeps the answers in
    // input order. It does not make the lookups sequential: they are all
    // running already, so the total is the slowest lookup, not the sum.
    let mut prices = Vec::with_capacity(handles.len());
    for handle in handles {
        // A JoinHandle yields Err only if the task panicked or was aborted.
        // `fetch_price` does neither, so a failure here is a bug: panic.
        prices.push(handle.await.expect("a price lookup task failed"));
    }
    prices
}
