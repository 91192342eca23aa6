//! # Exercise 01: concurrent lookups with `join!`
//!
//! A shop's dashboard page needs a user and that user's orders, which live in
//! two slow services. The services are simulated below (they only sleep, then
//! return made-up data) and are already written. Your job is to call them:
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

use std::fmt;
use std::time::Duration;

use tokio::time::sleep;

/// A customer, as the user service returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: u32,
    pub name: String,
}

/// One order, as the order service returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: u32,
    pub user_id: u32,
    pub total_cents: u64,
}

/// What the dashboard page shows: a user and that user's orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub user: User,
    pub orders: Vec<Order>,
}

/// Why a fallible lookup failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShopError {
    /// The user service does not know this user id.
    UserNotFound(u32),
    /// The order service could not load this user's orders.
    OrdersUnavailable(u32),
}

impl fmt::Display for ShopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShopError::UserNotFound(id) => write!(f, "no user with id {id}"),
            ShopError::OrdersUnavailable(id) => write!(f, "orders of user {id} are unavailable"),
        }
    }
}

impl std::error::Error for ShopError {}

// ---------------------------------------------------------------------------
// The simulated services. They are finished: do not change them (the tests
// rely on their latencies). Read them, then call them from your functions.
// ---------------------------------------------------------------------------

/// How long the user service takes to answer.
pub const USER_LATENCY: Duration = Duration::from_millis(300);

/// How long the order service takes to answer.
pub const ORDERS_LATENCY: Duration = Duration::from_millis(500);

/// The one user id that [`try_fetch_user`] does not know.
pub const MISSING_USER: u32 = 0;

/// The one user id whose orders [`try_fetch_orders`] cannot load.
pub const BROKEN_ORDERS_USER: u32 = 13;

// ANCHOR: services
/// Looks a user up. Takes [`USER_LATENCY`] (300 ms).
pub async fn fetch_user(id: u32) -> User {
    sleep(USER_LATENCY).await;
    User {
        id,
        name: format!("user-{id}"),
    }
}

/// Loads the orders of a user. Takes [`ORDERS_LATENCY`] (500 ms).
pub async fn fetch_orders(user_id: u32) -> Vec<Order> {
    sleep(ORDERS_LATENCY).await;
    // Made-up but deterministic: user N has N % 4 orders.
    (0..user_id % 4)
        .map(|i| Order {
            id: user_id * 100 + i,
            user_id,
            total_cents: 1_000 * u64::from(i + 1),
        })
        .collect()
}
// ANCHOR_END: services

/// Like [`fetch_user`], but fails with [`ShopError::UserNotFound`] for
/// [`MISSING_USER`]. Takes [`USER_LATENCY`] (300 ms) either way.
pub async fn try_fetch_user(id: u32) -> Result<User, ShopError> {
    if id == MISSING_USER {
        sleep(USER_LATENCY).await;
        return Err(ShopError::UserNotFound(id));
    }
    Ok(fetch_user(id).await)
}

/// Like [`fetch_orders`], but fails with [`ShopError::OrdersUnavailable`] for
/// [`BROKEN_ORDERS_USER`]. Takes [`ORDERS_LATENCY`] (500 ms) either way.
pub async fn try_fetch_orders(user_id: u32) -> Result<Vec<Order>, ShopError> {
    if user_id == BROKEN_ORDERS_USER {
        sleep(ORDERS_LATENCY).await;
        return Err(ShopError::OrdersUnavailable(user_id));
    }
    Ok(fetch_orders(user_id).await)
}

/// How long [`fetch_price`] takes for a product: 100 ms times
/// `1 + product_id % 5`, so between 100 ms and 500 ms.
pub fn price_latency(product_id: u32) -> Duration {
    Duration::from_millis(100 * u64::from(1 + product_id % 5))
}

/// Looks up the price of a product, in cents. Takes
/// [`price_latency`]`(product_id)`: some products are slower than others.
pub async fn fetch_price(product_id: u32) -> u64 {
    sleep(price_latency(product_id)).await;
    99 + 10 * u64::from(product_id)
}

// ---------------------------------------------------------------------------
// Your code.
// ---------------------------------------------------------------------------

// ANCHOR: todo
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
// ANCHOR_END: todo
