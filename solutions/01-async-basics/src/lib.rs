//! # Exercise 01: concurrent lookups with `join!` (reference solution)
//!
//! Compare with your own version once your tests are green. The simulated
//! services are the stub's, unchanged; only the last four functions differ.
//!
//! A shop's dashboard page needs a user and that user's orders, which live in
//! two slow services. The services are simulated below (they only sleep, then
//! return made-up data). The exercise calls them:
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
// The exercise: the four functions of the stub, written out.
// ---------------------------------------------------------------------------

/// Loads the dashboard of user `id` by awaiting [`fetch_user`] first and
/// [`fetch_orders`] after it: 300 ms + 500 ms = 800 ms.
pub async fn load_dashboard_sequential(id: u32) -> Dashboard {
    // Each `.await` suspends this function until that lookup is done, so the
    // order lookup does not even start before the user has arrived.
    let user = fetch_user(id).await;
    let orders = fetch_orders(id).await;
    Dashboard { user, orders }
}

/// Loads the same dashboard with both lookups in flight: max(300, 500) = 500 ms.
pub async fn load_dashboard(id: u32) -> Dashboard {
    // `join!` polls both futures from this one task, in turn, until both are
    // ready. No thread and no spawned task is involved: while one future
    // sleeps, the other makes progress. The two futures borrow nothing, but
    // `join!` would also work with futures that borrow local data, which
    // `tokio::spawn` would not accept.
    let (user, orders) = tokio::join!(fetch_user(id), fetch_orders(id));
    Dashboard { user, orders }
}

/// Loads the dashboard from the fallible services, stopping at the first error.
pub async fn try_load_dashboard(id: u32) -> Result<Dashboard, ShopError> {
    // `try_join!` is `join!` that stops early: as soon as one future returns
    // `Err`, it returns that error and drops the other futures, which cancels
    // them. That is why a missing user is reported after 300 ms instead of
    // after the 500 ms order lookup. Both futures must have the same error
    // type (here `ShopError`); with different types, `map_err` one of them.
    let (user, orders) = tokio::try_join!(try_fetch_user(id), try_fetch_orders(id))?;
    Ok(Dashboard { user, orders })
}

/// Looks up every price at the same time; answers in input order.
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
