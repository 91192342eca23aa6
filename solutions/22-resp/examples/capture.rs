//! Decodes what real Redis clients send. Listens on 127.0.0.1 (port 0: the
//! system picks one, printed first), decodes every frame of every connection
//! with `exercise_22::decode`, prints one line per frame, and answers just
//! enough for `redis-cli` and `redis-benchmark` to carry on:
//!
//! ```text
//! cargo run -p solution-22 --example capture
//! listening on 127.0.0.1:40123
//! ```
//!
//! Each line says whether the frame came as a RESP array or as an inline
//! command: `inline PING` or `array SET key:__rand_int__ xxx`.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::{Bytes, BytesMut};
use exercise_22::{Frame, Limits, Protocol, decode, encode};

type Store = Arc<Mutex<HashMap<Bytes, Bytes>>>;

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let store = Store::default();
    for stream in listener.incoming() {
        let stream = stream?;
        let store = Arc::clone(&store);
        thread::spawn(move || {
            if let Err(e) = serve(stream, &store) {
                eprintln!("connection: {e}");
            }
        });
    }
    Ok(())
}

// ANCHOR: serve
fn serve(mut stream: TcpStream, store: &Store) -> io::Result<()> {
    let limits = Limits::default();
    let mut proto = Protocol::Resp2; // every connection starts in RESP2
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        // Several pipelined commands may have arrived in one read: decode
        // until the buffer holds no whole frame, answer them all at once.
        loop {
            let inline = buf.first().is_some_and(|&b| b != b'*');
            match decode(&mut buf, &limits) {
                Ok(Some(frame)) => {
                    let reply = execute(&frame, inline, &mut proto, store);
                    encode(&reply, proto, &mut out);
                }
                Ok(None) => break,
                Err(e) => {
                    // Like Redis: say why, then close the connection.
                    println!("protocol error: {e}");
                    encode(&Frame::Error(format!("ERR {e}")), proto, &mut out);
                    stream.write_all(&out)?;
                    return Ok(());
                }
            }
        }
        stream.write_all(&out)?;
        out.clear();
    }
}
// ANCHOR_END: serve

/// Logs the frame and gives the reply: PING, ECHO, SET, GET, HELLO, CONFIG,
/// an error for anything else.
fn execute(frame: &Frame, inline: bool, proto: &mut Protocol, store: &Store) -> Frame {
    let Frame::Array(items) = frame else {
        println!("other {frame:?}");
        return Frame::Error("ERR expected an array of bulk strings".into());
    };
    let words: Vec<&Bytes> = items
        .iter()
        .filter_map(|item| match item {
            Frame::Bulk(b) => Some(b),
            _ => None,
        })
        .collect();
    let shown: Vec<String> = words
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    println!(
        "{} {}",
        if inline { "inline" } else { "array" },
        shown.join(" ")
    );
    let name = shown
        .first()
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    match (name.as_str(), &words[..]) {
        ("PING", [_]) => Frame::Simple("PONG".into()),
        ("PING", [_, msg]) | ("ECHO", [_, msg]) => Frame::Bulk((*msg).clone()),
        ("SET", [_, key, value, ..]) => {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            // Copy out of the read buffer: a stored value must not keep the
            // whole buffer it arrived in alive.
            store.insert(Bytes::copy_from_slice(key), Bytes::copy_from_slice(value));
            Frame::Simple("OK".into())
        }
        ("GET", [_, key]) => {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            store.get(*key).cloned().map_or(Frame::Null, Frame::Bulk)
        }
        ("HELLO", rest) => {
            match rest.get(1).map(|v| &v[..]) {
                None => {}
                Some(b"2") => *proto = Protocol::Resp2,
                Some(b"3") => *proto = Protocol::Resp3,
                Some(_) => return Frame::Error("NOPROTO unsupported protocol version".into()),
            }
            let version = if *proto == Protocol::Resp3 { 3 } else { 2 };
            Frame::Map(vec![
                (bulk("server"), bulk("capture")),
                (bulk("proto"), Frame::Integer(version)),
            ])
        }
        // redis-benchmark asks for "save" and "appendonly" first: the
        // parameter's name and an empty value.
        ("CONFIG", [_, _, param]) => Frame::Array(vec![Frame::Bulk((*param).clone()), bulk("")]),
        _ => Frame::Error(format!("ERR unknown command '{}'", shown.join(" "))),
    }
}

fn bulk(text: &'static str) -> Frame {
    Frame::Bulk(Bytes::from_static(text.as_bytes()))
}
