//! The upstream of `bench-vs-nginx.sh`: a small, fast HTTP/1.1 server that
//! answers every request with the same short body. It reads request heads
//! with the exercise's own parser, keeps connections alive unless the client
//! says `Connection: close`, and listens on loopback.
//!
//! ```text
//! cargo run --release -p solution-12 --features cli --bin bench-upstream -- 127.0.0.1:9000
//! ```

use std::net::SocketAddr;

use exercise_12::http::{self, Body};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const BODY: &[u8] = b"hello from the upstream\n";

async fn serve_one(stream: TcpStream) -> Result<(), http::HttpError> {
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    while let Some(head) = http::read_request_head(&mut stream).await? {
        // Drain a request body, if any, so the next head starts in place.
        let body = head.body()?;
        if body != Body::Empty {
            http::copy_body(&mut stream, &mut tokio::io::sink(), body).await?;
        }
        let keep = head.keep_alive();
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n");
        out.extend_from_slice(format!("Content-Length: {}\r\n", BODY.len()).as_bytes());
        if !keep {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(BODY);
        stream.get_mut().write_all(&out).await?;
        if !keep {
            break;
        }
    }
    Ok(())
}

fn main() {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_owned())
        .parse()
        .expect("usage: bench-upstream [ADDRESS:PORT]");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await.expect("binding");
        eprintln!(
            "bench-upstream: listening on {}",
            listener.local_addr().unwrap()
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = serve_one(stream).await;
            });
        }
    });
}
