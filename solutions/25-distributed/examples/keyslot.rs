//! Prints `key slot` for each key given as an argument, one per line, to
//! compare with what a Redis Cluster node answers to `CLUSTER KEYSLOT key`:
//!
//! ```text
//! cargo run -p solution-25 --example keyslot -- foo '{user1000}.following'
//! ```
fn main() {
    for key in std::env::args_os().skip(1) {
        let key = key.into_encoded_bytes();
        println!(
            "{} {}",
            String::from_utf8_lossy(&key),
            exercise_25::key_slot(&key)
        );
    }
}
