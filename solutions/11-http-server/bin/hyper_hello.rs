//! The comparison server of `bench-vs-hyper.sh`: a minimal hyper 1.x server
//! that answers every request like exercise 11 answers `GET /`: 200, the same
//! body and content type, keep-alive. Same runtime as `serve-11` (tokio's
//! multi-threaded scheduler, one worker per core).
//!
//! ```text
//! cargo run --release -p solution-11 --features compare-hyper --bin hyper-hello -- 127.0.0.1:8081
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

// ANCHOR: service
async fn hello(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = Response::builder()
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(exercise_11::HELLO.as_bytes())))
        .expect("a valid response");
    Ok(response)
}
// ANCHOR_END: service

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned())
        .parse()
        .expect("usage: hyper-hello [ADDR]");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            tokio::spawn(async move {
                // ANCHOR: connection
                // hyper's HTTP/1 connection: parsing, keep-alive, pipelining.
                // Without a timer, the header read timeout (30 s by default)
                // silently does nothing; with it, it matches serve-11's.
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), service_fn(hello));
                // ANCHOR_END: connection
                if let Err(e) = connection.await {
                    eprintln!("connection ended: {e}");
                }
            });
        }
    })
}
