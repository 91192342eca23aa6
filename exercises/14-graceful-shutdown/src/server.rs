//! The server's protocol and its configuration file. This file is given and
//! finished: you use it from `lib.rs`, you do not change it. The reference
//! solution uses this very file, through `#[path]`.
//!
//! The protocol is a line per request over TCP (lines end in `\n`; a `\r`
//! before it is ignored):
//!
//! | the client sends | the server answers |
//! |---|---|
//! | `work MS` | `working MS` at once, then `done MS` after MS milliseconds (0 to 10000) |
//! | `config` | `greeting TEXT`: the greeting of the configuration in force now |
//! | `quit` | `bye`, then it closes the connection |
//! | anything else | `error ...`, and the connection stays open |
//!
//! A request is *in flight* from the moment the server has read its line
//! until its answer is written; `working MS` tells the client that the
//! server has read a `work` line. When the shutdown token is cancelled,
//! a connection finishes the request in flight (if any), then writes
//! `shutting down` and closes. A connection that is waiting for its next
//! line closes at once.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The longest request line, in bytes, without its line ending.
pub const MAX_LINE: usize = 256;

/// The longest `work` request, in milliseconds.
pub const MAX_WORK_MS: u64 = 10_000;

// ANCHOR: config
/// The configuration file's contents.
///
/// The file has one `key = value` per line; empty lines and lines starting
/// with `#` are ignored. The only key is `greeting` (required): 1 to 100
/// printable characters. Anything else makes the file invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// What the server answers to `config` (after `greeting `).
    pub greeting: String,
}
// ANCHOR_END: config

impl Config {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Config::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses the text of a configuration file.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut greeting = None;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: &str| ConfigError(format!("line {}: {what}", number + 1));
            let Some((key, value)) = line.split_once('=') else {
                return Err(bad("expected `key = value`"));
            };
            match key.trim() {
                "greeting" => {
                    let value = value.trim();
                    let length = value.chars().count();
                    if !(1..=100).contains(&length) || value.chars().any(char::is_control) {
                        return Err(bad("the greeting must be 1 to 100 printable characters"));
                    }
                    greeting = Some(value.to_owned());
                }
                other => return Err(bad(&format!("unknown key `{other}`"))),
            }
        }
        let greeting = greeting.ok_or_else(|| ConfigError("no `greeting = ...` line".into()))?;
        Ok(Config { greeting })
    }
}

/// Why a configuration file was rejected: a message for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

// ANCHOR: serve_connection
/// Serves one connection until the client leaves, sends `quit`, or
/// `shutdown` is cancelled (see the module's documentation). Each request
/// reads the configuration in force when it is answered.
///
/// I/O errors end the connection; they are returned for the log.
pub async fn serve_connection(
    stream: TcpStream,
    config: watch::Receiver<Arc<Config>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE as u64 + 2);
        // Between requests: wait for the next line or for the shutdown,
        // whichever comes first. Losing a half-read line is fine here: after
        // a shutdown the connection closes anyway.
        let read = tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                writer.write_all(b"shutting down\n").await?;
                return Ok(());
            }
            read = limited.read_until(b'\n', &mut line) => read?,
        };
        if read == 0 {
            return Ok(()); // the client left
        }
        // From here on the request is in flight: it is answered even if the
        // shutdown comes meanwhile.
        let answer = match parse_request(&line) {
            Ok(Request::Work(ms)) => {
                writer
                    .write_all(format!("working {ms}\n").as_bytes())
                    .await?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                format!("done {ms}\n")
            }
            Ok(Request::Config) => format!("greeting {}\n", config.borrow().greeting),
            Ok(Request::Quit) => {
                writer.write_all(b"bye\n").await?;
                return Ok(());
            }
            Ok(Request::Empty) => continue,
            Err(RequestError::Unfinished) => return Ok(()), // left mid-line
            Err(RequestError::TooLong) => {
                // The rest of the line would be read as a new request.
                writer.write_all(b"error line too long\n").await?;
                return Ok(());
            }
            Err(RequestError::Bad(message)) => format!("error {message}\n"),
        };
        writer.write_all(answer.as_bytes()).await?;
    }
}
// ANCHOR_END: serve_connection

enum Request {
    Work(u64),
    Config,
    Quit,
    Empty,
}

enum RequestError {
    Unfinished,
    TooLong,
    Bad(String),
}

fn parse_request(line: &[u8]) -> Result<Request, RequestError> {
    let Some(line) = line.strip_suffix(b"\n") else {
        // No newline: either the line is too long, or the client closed the
        // connection in the middle of a line.
        return Err(if line.len() > MAX_LINE + 1 {
            RequestError::TooLong
        } else {
            RequestError::Unfinished
        });
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE {
        return Err(RequestError::TooLong);
    }
    let line = std::str::from_utf8(line).map_err(|_| RequestError::Bad("invalid UTF-8".into()))?;
    let mut words = line.split_whitespace();
    let request = match (words.next(), words.next(), words.next()) {
        (None, ..) => Request::Empty,
        (Some("config"), None, _) => Request::Config,
        (Some("quit"), None, _) => Request::Quit,
        (Some("work"), Some(ms), None) => match ms.parse::<u64>() {
            Ok(ms) if ms <= MAX_WORK_MS => Request::Work(ms),
            _ => {
                return Err(RequestError::Bad(format!(
                    "work takes milliseconds from 0 to {MAX_WORK_MS}"
                )));
            }
        },
        _ => return Err(RequestError::Bad(format!("unknown request: {line}"))),
    };
    Ok(request)
}
