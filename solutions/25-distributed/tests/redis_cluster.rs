//! A real cluster client library against the 3-node cluster: redis-rs (the
//! `redis` crate) with its `cluster` feature, which reads `CLUSTER SLOTS`
//! and sends each command to its key's node. Not part of the exercise's
//! tests (redis-rs takes a while to compile); run it with
//!
//! ```text
//! cargo test -p solution-25 --features redis-client --test redis_cluster
//! ```
//!
//! (checks/redis-rs.sh does, in `cargo course verify`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cache::{Clock, Db};
use exercise_25::{Cluster, key_slot, serve_node};
use redis::Commands;
use redis::cluster::ClusterClient;
use testkit::{LIMIT, within};

/// Starts three nodes on a runtime of their own, on a thread of its own
/// (the client below blocks), and returns their addresses. The thread ends
/// with the test process.
fn start_cluster() -> Vec<SocketAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("building a runtime");
        runtime.block_on(async move {
            let mut listeners = Vec::new();
            for _ in 0..3 {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("binding 127.0.0.1:0");
                listeners.push(listener);
            }
            let nodes: Vec<SocketAddr> =
                listeners.iter().map(|l| l.local_addr().unwrap()).collect();
            let mut tasks = Vec::new();
            for listener in listeners {
                let cluster = Cluster::new(listener.local_addr().unwrap(), &nodes);
                let db = Arc::new(Db::new(4, Clock::new()));
                tasks.push(tokio::spawn(serve_node(listener, cluster, db)));
            }
            tx.send(nodes).unwrap();
            for task in tasks {
                let _ = task.await;
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the cluster did not start")
}

#[test]
fn redis_rs_cluster_client_sets_and_gets_keys_on_every_node() {
    within(LIMIT, "redis-rs to set and get 300 keys", || {
        let nodes = start_cluster();
        // One seed node is enough: the client asks it for CLUSTER SLOTS.
        let client =
            ClusterClient::new(vec![format!("redis://{}/", nodes[0])]).expect("a cluster client");
        let mut conn = client
            .get_connection()
            .expect("connecting: redis-rs reads CLUSTER SLOTS from the seed node");
        let mut per_node = [0usize; 3];
        for i in 0..300 {
            let key = format!("key:{i}");
            let () = conn
                .set(&key, format!("value:{i}"))
                .unwrap_or_else(|e| panic!("SET {key}: {e}"));
            per_node[match key_slot(key.as_bytes()) {
                0..=5460 => 0,
                5461..=10922 => 1,
                _ => 2,
            }] += 1;
        }
        assert!(
            per_node.iter().all(|n| *n > 0),
            "the test's keys reach every node: {per_node:?}"
        );
        for i in 0..300 {
            let key = format!("key:{i}");
            let value: String = conn.get(&key).unwrap_or_else(|e| panic!("GET {key}: {e}"));
            assert_eq!(value, format!("value:{i}"), "GET {key} through redis-rs");
        }
        // A one-slot multi-key command, through the client's routing.
        let () = conn
            .mset(&[("{user1}.name", "ann"), ("{user1}.city", "oslo")])
            .expect("MSET of two keys tagged {user1}");
        let both: Vec<String> = conn
            .mget(&["{user1}.name", "{user1}.city"])
            .expect("MGET of two keys tagged {user1}");
        assert_eq!(both, ["ann", "oslo"]);
    });
}
