//! The proxy as a program: settings from a TOML file and from flags (a flag
//! wins over the file), one log line per request on standard error, and a
//! graceful shutdown on Ctrl-C or SIGTERM. It is given: it only calls
//! `exercise_12::serve`. Build and run it with
//!
//! ```text
//! cargo run -p exercise-12 --features cli --bin web-proxy -- --help
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use exercise_12::{Config, Mode, serve};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A forward or reverse HTTP/1.1 proxy.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// A TOML file with the settings below (flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// `forward` or `reverse`.
    #[arg(long)]
    mode: Option<String>,
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// An upstream server for reverse mode; repeat the flag for several.
    #[arg(long = "upstream")]
    upstreams: Vec<SocketAddr>,
    /// Timeout per upstream attempt, in milliseconds [default: 10000].
    #[arg(long)]
    upstream_timeout_ms: Option<u64>,
    /// Idle timeout of client connections, in milliseconds [default: 60000].
    #[arg(long)]
    client_timeout_ms: Option<u64>,
    /// Time between health checks, in milliseconds [default: 5000].
    #[arg(long)]
    health_interval_ms: Option<u64>,
    /// The path of the health check [default: /health].
    #[arg(long)]
    health_path: Option<String>,
    /// The most client connections served at once [default: 1024].
    #[arg(long)]
    max_connections: Option<usize>,
}

/// The TOML file: the same settings, every one optional.
///
/// ```toml
/// mode = "reverse"
/// listen = "127.0.0.1:8080"
/// upstreams = ["127.0.0.1:9001", "127.0.0.1:9002"]
/// upstream_timeout_ms = 2000
/// health_interval_ms = 1000
/// health_path = "/"
/// ```
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct File {
    mode: Option<String>,
    listen: Option<SocketAddr>,
    upstreams: Option<Vec<SocketAddr>>,
    upstream_timeout_ms: Option<u64>,
    client_timeout_ms: Option<u64>,
    health_interval_ms: Option<u64>,
    health_path: Option<String>,
    max_connections: Option<usize>,
}

fn settings(args: Args) -> Result<(SocketAddr, Config), String> {
    let file: File = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => File::default(),
    };
    let mut config = Config::default();
    let upstreams = if args.upstreams.is_empty() {
        file.upstreams.unwrap_or_default()
    } else {
        args.upstreams
    };
    config.mode = match args.mode.or(file.mode).as_deref().unwrap_or("forward") {
        "forward" => Mode::Forward,
        "reverse" if upstreams.is_empty() => {
            return Err("reverse mode needs at least one --upstream".into());
        }
        "reverse" => Mode::Reverse { upstreams },
        other => return Err(format!("unknown mode {other:?}: forward or reverse")),
    };
    let ms = Duration::from_millis;
    if let Some(v) = args.upstream_timeout_ms.or(file.upstream_timeout_ms) {
        config.upstream_timeout = ms(v);
    }
    if let Some(v) = args.client_timeout_ms.or(file.client_timeout_ms) {
        config.client_timeout = ms(v);
    }
    if let Some(v) = args.health_interval_ms.or(file.health_interval_ms) {
        config.health_interval = ms(v.max(1));
    }
    if let Some(v) = args.health_path.or(file.health_path) {
        config.health_path = v;
    }
    if let Some(v) = args.max_connections.or(file.max_connections) {
        config.max_connections = v;
    }
    // Loopback unless told otherwise: an open proxy on a public address
    // relays anyone's traffic.
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    Ok((listen, config))
}

fn main() -> ExitCode {
    let (listen, config) = match settings(Args::parse()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("web-proxy: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    runtime.block_on(async move {
        let listener = match TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("web-proxy: cannot listen on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        match &config.mode {
            Mode::Forward => eprintln!("web-proxy: forward mode, listening on {addr}"),
            Mode::Reverse { upstreams } => {
                eprintln!("web-proxy: reverse mode over {upstreams:?}, listening on {addr}")
            }
        }

        // Ctrl-C or SIGTERM starts the graceful shutdown; 30 s later the
        // program ends even if a client is still being served.
        let shutdown = CancellationToken::new();
        for kind in [
            tokio::signal::unix::SignalKind::interrupt(),
            tokio::signal::unix::SignalKind::terminate(),
        ] {
            let token = shutdown.clone();
            let mut signal =
                tokio::signal::unix::signal(kind).expect("installing a signal handler");
            tokio::spawn(async move {
                signal.recv().await;
                eprintln!("web-proxy: shutting down, finishing requests in flight");
                token.cancel();
                tokio::time::sleep(Duration::from_secs(30)).await;
                eprintln!("web-proxy: requests still running after 30 s, exiting");
                std::process::exit(1);
            });
        }
        match serve(listener, config, shutdown).await {
            Ok(()) => {
                eprintln!("web-proxy: stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("web-proxy: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
