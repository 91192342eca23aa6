//! The specification of exercise 01.
//!
//! Every test runs on a tokio runtime whose clock is paused
//! (`testkit::block_on_paused`): a `sleep` completes as soon as nothing else
//! can run, and the clock jumps forward by exactly the time slept. Durations
//! measured with `tokio::time::Instant` are therefore exact, and a test that
//! "waits" 800 ms takes no real time at all.

use std::future::Future;
use std::time::Duration;

use exercise_01::*;
use testkit::{LIMIT, block_on_paused};
use tokio::time::Instant;

/// Runs `fut` and returns its output with the simulated time it took.
async fn timed<F: Future>(fut: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let output = fut.await;
    (output, start.elapsed())
}

/// The dashboard of `id`, straight from the services (takes simulated time).
async fn expected_dashboard(id: u32) -> Dashboard {
    Dashboard {
        user: fetch_user(id).await,
        orders: fetch_orders(id).await,
    }
}

const MS_300: Duration = Duration::from_millis(300);
const MS_500: Duration = Duration::from_millis(500);
const MS_800: Duration = Duration::from_millis(800);

// --- load_dashboard_sequential ---------------------------------------------

#[test]
fn sequential_dashboard_holds_the_user_and_their_orders() {
    block_on_paused(
        LIMIT,
        "load_dashboard_sequential(7) to return after 800 ms of simulated time",
        || async {
            let got = load_dashboard_sequential(7).await;
            let want = expected_dashboard(7).await;
            assert_eq!(
                got, want,
                "load_dashboard_sequential(7) should hold fetch_user(7) and fetch_orders(7) unchanged"
            );
        },
    );
}

#[test]
fn sequential_dashboard_takes_the_sum_of_both_latencies() {
    block_on_paused(
        LIMIT,
        "load_dashboard_sequential(7) to return after 800 ms of simulated time",
        || async {
            let (_, elapsed) = timed(load_dashboard_sequential(7)).await;
            assert_eq!(
                elapsed, MS_800,
                "load_dashboard_sequential awaits the user (300 ms), then the orders \
                 (500 ms), so it should take 800 ms; it took {elapsed:?}"
            );
        },
    );
}

// --- load_dashboard ----------------------------------------------------------

#[test]
fn concurrent_dashboard_holds_the_user_and_their_orders() {
    block_on_paused(
        LIMIT,
        "load_dashboard(7) to return after 500 ms of simulated time",
        || async {
            let got = load_dashboard(7).await;
            let want = expected_dashboard(7).await;
            assert_eq!(
                got, want,
                "load_dashboard(7) should hold fetch_user(7) and fetch_orders(7) unchanged"
            );
        },
    );
}

#[test]
fn concurrent_dashboard_takes_only_the_longest_latency() {
    block_on_paused(
        LIMIT,
        "load_dashboard(7) to return after 500 ms of simulated time",
        || async {
            let (_, elapsed) = timed(load_dashboard(7)).await;
            assert_eq!(
                elapsed, MS_500,
                "with both lookups in flight at once, load_dashboard should take the \
                 longer latency, max(300 ms, 500 ms) = 500 ms; it took {elapsed:?} \
                 (800 ms means one lookup waited for the other)"
            );
        },
    );
}

// --- try_load_dashboard ------------------------------------------------------

#[test]
fn try_load_returns_the_dashboard_when_both_lookups_succeed() {
    block_on_paused(
        LIMIT,
        "try_load_dashboard(7) to return Ok after 500 ms of simulated time",
        || async {
            let got = try_load_dashboard(7).await;
            let want = expected_dashboard(7).await;
            assert_eq!(
                got,
                Ok(want),
                "try_load_dashboard(7) should be Ok with the user and orders of user 7"
            );
        },
    );
}

#[test]
fn try_load_succeeds_after_the_longest_latency() {
    block_on_paused(
        LIMIT,
        "try_load_dashboard(7) to return Ok after 500 ms of simulated time",
        || async {
            let (_, elapsed) = timed(try_load_dashboard(7)).await;
            assert_eq!(
                elapsed, MS_500,
                "with both fallible lookups in flight at once, a successful \
                 try_load_dashboard should take max(300 ms, 500 ms) = 500 ms; \
                 it took {elapsed:?}"
            );
        },
    );
}

#[test]
fn try_load_reports_a_missing_user() {
    block_on_paused(
        LIMIT,
        "try_load_dashboard(MISSING_USER) to return an error",
        || async {
            let got = try_load_dashboard(MISSING_USER).await;
            assert_eq!(
                got,
                Err(ShopError::UserNotFound(MISSING_USER)),
                "try_fetch_user(MISSING_USER) fails, so try_load_dashboard should \
                 return its error"
            );
        },
    );
}

#[test]
fn try_load_reports_a_missing_user_without_waiting_for_the_orders() {
    block_on_paused(
        LIMIT,
        "try_load_dashboard(MISSING_USER) to fail after 300 ms of simulated time",
        || async {
            let (got, elapsed) = timed(try_load_dashboard(MISSING_USER)).await;
            assert!(
                got.is_err(),
                "expected an error for MISSING_USER, got {got:?}"
            );
            assert_eq!(
                elapsed, MS_300,
                "the user lookup fails after 300 ms; try_load_dashboard should \
                 return that error at once instead of waiting for the 500 ms order \
                 lookup; it took {elapsed:?}"
            );
        },
    );
}

#[test]
fn try_load_reports_unavailable_orders() {
    block_on_paused(
        LIMIT,
        "try_load_dashboard(BROKEN_ORDERS_USER) to return an error",
        || async {
            let got = try_load_dashboard(BROKEN_ORDERS_USER).await;
            assert_eq!(
                got,
                Err(ShopError::OrdersUnavailable(BROKEN_ORDERS_USER)),
                "try_fetch_orders(BROKEN_ORDERS_USER) fails, so try_load_dashboard \
                 should return its error"
            );
        },
    );
}

// --- fetch_prices ------------------------------------------------------------

#[test]
fn fetch_prices_answers_in_the_order_of_the_request() {
    block_on_paused(
        LIMIT,
        "fetch_prices(&[4, 0, 3, 1, 2]) to return five prices",
        || async {
            // Latencies 500, 100, 400, 200, 300 ms: the answers arrive in
            // another order than the one asked for.
            let ids = [4, 0, 3, 1, 2];
            let got = fetch_prices(&ids).await;
            let mut want = Vec::new();
            for id in ids {
                want.push(fetch_price(id).await);
            }
            assert_eq!(
                got, want,
                "fetch_prices(&{ids:?}) should give the price of ids[i] at index i, \
                 whatever order the lookups finish in"
            );
        },
    );
}

#[test]
fn fetch_prices_takes_as_long_as_the_slowest_lookup() {
    block_on_paused(
        LIMIT,
        "fetch_prices(&[1, 2, 6, 11]) to return after 300 ms of simulated time",
        || async {
            // Latencies 200, 300, 200, 200 ms: 900 ms in sequence, 300 ms at once.
            let ids = [1, 2, 6, 11];
            let (prices, elapsed) = timed(fetch_prices(&ids)).await;
            assert_eq!(prices.len(), ids.len(), "expected one price per id");
            assert_eq!(
                elapsed, MS_300,
                "all lookups should be in flight at once, so fetch_prices(&{ids:?}) \
                 should take the slowest one, 300 ms; it took {elapsed:?} \
                 (900 ms means one lookup after the other)"
            );
        },
    );
}

#[test]
fn fetch_prices_of_a_thousand_products_takes_the_slowest_single_lookup() {
    block_on_paused(
        LIMIT,
        "fetch_prices of 1000 ids to return after 500 ms of simulated time",
        || async {
            let ids: Vec<u32> = (0..1000).collect();
            let (prices, elapsed) = timed(fetch_prices(&ids)).await;
            assert_eq!(prices.len(), 1000, "expected one price per id");
            assert_eq!(
                elapsed, MS_500,
                "1000 concurrent lookups should take as long as the slowest one \
                 (500 ms), not the sum; it took {elapsed:?}"
            );
        },
    );
}

#[test]
fn fetch_prices_looks_up_duplicates_each_time() {
    block_on_paused(
        LIMIT,
        "fetch_prices(&[7, 7, 7]) to return three prices",
        || async {
            let got = fetch_prices(&[7, 7, 7]).await;
            let one = fetch_price(7).await;
            assert_eq!(
                got,
                vec![one; 3],
                "fetch_prices(&[7, 7, 7]) should give the price of product 7 three times"
            );
        },
    );
}

#[test]
fn fetch_prices_of_no_products_is_empty_and_immediate() {
    block_on_paused(
        LIMIT,
        "fetch_prices(&[]) to return an empty Vec at once",
        || async {
            let (prices, elapsed) = timed(fetch_prices(&[])).await;
            assert!(prices.is_empty(), "expected no prices, got {prices:?}");
            assert_eq!(
                elapsed,
                Duration::ZERO,
                "with nothing to look up, fetch_prices should not wait; it took {elapsed:?}"
            );
        },
    );
}
