//! A whole cluster in one program, to try it with `redis-cli -c` and
//! `redis-benchmark --cluster`:
//!
//! ```text
//! cargo run --release -p exercise-25 --features serve --bin cluster-25 -- --nodes 3 --port 7000
//! redis-cli -c -p 7000 set foo bar
//! ```
//!
//! Options: `--nodes N` leaders (default 3), `--replicas R` followers per
//! leader (0, the default, or 1), `--port P` (default 0: the system
//! chooses a free port for each node; otherwise the leaders listen on P,
//! P + 1, ..., then the followers on the next ports, follower i following
//! leader i), `--bind ADDR` (default 127.0.0.1). Every node binds first;
//! then each gets its view of one shared slot map (your
//! `Cluster::with_replicas` and `Cluster::view`) and its own store, and
//! serves on a shared runtime. It prints one `node I listening on ADDR`
//! line per node once all accept, followers with `(follows J)`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use cache::{Clock, Db};
use exercise_25::{Cluster, serve_node};

fn main() -> std::io::Result<()> {
    let mut ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port: u16 = 0;
    let mut nodes: u16 = 3;
    let mut replicas: u16 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let Some(value) = args.next() else {
            return usage(&format!("{arg} needs a value"));
        };
        let bad = |e: &dyn std::fmt::Display| usage(&format!("{arg} {value}: {e}"));
        match arg.as_str() {
            "--port" => match value.parse() {
                Ok(v) => port = v,
                Err(e) => return bad(&e),
            },
            "--bind" => match value.parse() {
                Ok(v) => ip = v,
                Err(e) => return bad(&e),
            },
            "--nodes" => match value.parse() {
                Ok(v) if v > 0 => nodes = v,
                Ok(_) => return bad(&"at least 1"),
                Err(e) => return bad(&e),
            },
            "--replicas" => match value.parse() {
                Ok(v) if v <= 1 => replicas = v,
                Ok(_) => return bad(&"0 or 1"),
                Err(e) => return bad(&e),
            },
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Bind every node first: each node's view names all the addresses.
        let mut listeners = Vec::new();
        for i in 0..nodes * (1 + replicas) {
            let port = if port == 0 { 0 } else { port + i };
            listeners.push(tokio::net::TcpListener::bind(SocketAddr::new(ip, port)).await?);
        }
        let addrs = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<std::io::Result<Vec<_>>>()?;
        let (leaders, followers) = addrs.split_at(usize::from(nodes));
        let map = Cluster::with_replicas(leaders[0], leaders, followers);
        let mut tasks = Vec::new();
        for listener in listeners {
            let cluster = map.view(listener.local_addr()?);
            let db = Arc::new(Db::new(16, Clock::new()));
            tasks.push(tokio::spawn(serve_node(listener, cluster, db)));
        }
        for (i, addr) in addrs.iter().enumerate() {
            match i.checked_sub(leaders.len()) {
                None => println!("node {} listening on {addr}", i + 1),
                Some(j) => println!("node {} listening on {addr} (follows {})", i + 1, j + 1),
            }
        }
        // Runs until a node's listener fails.
        for task in tasks {
            task.await.map_err(std::io::Error::other)??;
        }
        Ok(())
    })
}

fn usage(problem: &str) -> std::io::Result<()> {
    eprintln!(
        "{problem}\nusage: cluster-25 [--nodes 3] [--replicas 0|1] [--port 0] [--bind 127.0.0.1]"
    );
    std::process::exit(2)
}
