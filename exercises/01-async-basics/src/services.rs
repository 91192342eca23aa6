//! The simulated shop services of exercise 01. They are finished: you call
//! them from `lib.rs`, you do not change them (the tests rely on their
//! latencies). The reference solution uses this very file, through
//! `#[path]`, so a change here would change it too.

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
// The services: each sleeps for its latency, then answers.
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
    // Made-up but deterministic: user N has N % 4 orders, numbered from
    // N * 100 (wrapping, so that no id, however large, makes this panic).
    (0..user_id % 4)
        .map(|i| Order {
            id: user_id.wrapping_mul(100).wrapping_add(i),
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
