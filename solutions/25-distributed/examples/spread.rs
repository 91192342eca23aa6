//! How evenly a ring spreads keys, and how many keys move when a node
//! joins: `cargo run --release -p solution-25 --example spread`.
//!
//! For 1, 10, 100 and 1,000 virtual nodes per node: the share of 1,000,000
//! keys (8-byte big-endian counters) each of 5 nodes owns, as the largest
//! distance from an even 20 %; then the share of keys that move when a 6th
//! node joins, against hash mod N going from 5 to 6.
use exercise_25::{Ring, hash64};

const KEYS: u64 = 1_000_000;

fn main() {
    let names = ["node-a", "node-b", "node-c", "node-d", "node-e"];
    println!("vnodes  worst node vs even  keys moved by a 6th node");
    for vnodes in [1, 10, 100, 1000] {
        let mut ring = Ring::new(vnodes);
        for name in names {
            ring.add_node(name);
        }
        let before: Vec<String> = (0..KEYS)
            .map(|i| ring.node_for(&i.to_be_bytes()).unwrap().to_owned())
            .collect();
        let even = KEYS as f64 / names.len() as f64;
        let worst = names
            .iter()
            .map(|n| {
                let owned = before.iter().filter(|o| o == n).count() as f64;
                (owned - even) / even * 100.0
            })
            .fold(0.0f64, |w, off| if off.abs() > w.abs() { off } else { w });
        ring.add_node("node-f");
        let moved = (0..KEYS)
            .filter(|&i| ring.node_for(&i.to_be_bytes()).unwrap() != before[i as usize])
            .count();
        println!(
            "{vnodes:>6}  {worst:>+17.1} %  {:>22.1} %",
            moved as f64 / KEYS as f64 * 100.0
        );
    }
    let moved = (0..KEYS)
        .filter(|i| {
            let h = hash64(&i.to_be_bytes());
            h % 5 != h % 6
        })
        .count();
    println!(
        "hash mod N, 5 -> 6 nodes: {:.1} % of keys move",
        moved as f64 / KEYS as f64 * 100.0
    );
}
