//! The HTTP/1.1 plumbing of exercise 12: reading and writing message heads,
//! and copying a body with the framing its head announces. It is given and
//! finished: you use it from `lib.rs`, you do not change it. The reference
//! solution uses this very file, through `#[path]`.
//!
//! Chapter 11 explains the syntax (RFC 9112); this file is a small parser
//! of the same kind, cut down to what a proxy needs. Every read has a
//! limit: a head larger than [`MAX_HEAD`] or with more than
//! [`MAX_HEADERS`] fields, and a chunk-size line longer than [`MAX_LINE`],
//! are errors, never a bigger buffer.

use std::fmt;
use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest request or response head accepted, in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most header fields accepted in one head.
pub const MAX_HEADERS: usize = 64;
/// The longest chunk-size or trailer line accepted in a chunked body.
pub const MAX_LINE: usize = 1024;

// ANCHOR: types
/// One header field. Names compare case-insensitively ([`Headers::get`]);
/// values are bytes, since HTTP does not promise UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

/// The header fields of a head, in the order they arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

/// `GET /path HTTP/1.1` and its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// `GET`, `POST`, `CONNECT`, ...
    pub method: String,
    /// The request target as sent: `/path?q` (origin-form),
    /// `http://host:port/path` (absolute-form) or `host:port` (CONNECT's
    /// authority-form).
    pub target: String,
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    pub headers: Headers,
}

/// `HTTP/1.1 200 OK` and its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub reason: String,
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    pub headers: Headers,
}

/// How the body after a head is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body at all.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`: chunks, a zero-size chunk, trailers.
    Chunked,
    /// A response without either: the body ends when the connection does.
    UntilClose,
}
// ANCHOR_END: types

/// Why a head or a body could not be read.
#[derive(Debug)]
pub enum HttpError {
    /// The connection closed in the middle of a head or a body.
    Incomplete,
    /// The head is longer than [`MAX_HEAD`] (answer 431 to a client).
    HeadTooLarge,
    /// Not valid HTTP/1.x: the message says what (answer 400 to a client).
    Malformed(&'static str),
    /// A transfer coding other than `chunked` (answer 501 to a client).
    UnsupportedEncoding,
    /// The socket failed.
    Io(io::Error),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Incomplete => write!(f, "the connection closed in the middle of a message"),
            HttpError::HeadTooLarge => write!(f, "the head is larger than {MAX_HEAD} bytes"),
            HttpError::Malformed(what) => write!(f, "malformed message: {what}"),
            HttpError::UnsupportedEncoding => write!(f, "unsupported transfer coding"),
            HttpError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> Self {
        HttpError::Io(e)
    }
}

impl Headers {
    /// The value of the first field called `name` (any case), if any.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// The values of every field called `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// Removes every field called `name` (any case).
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Adds a field at the end (keeps any other field of the same name).
    pub fn append(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.0.push(Header {
            name: name.to_owned(),
            value: value.into(),
        });
    }

    /// The comma-separated tokens of every field called `name`, trimmed and
    /// lower-cased: `Connection: Keep-Alive, X-Foo` gives `keep-alive`, `x-foo`.
    pub fn tokens(&self, name: &str) -> Vec<String> {
        self.get_all(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .map(|t| String::from_utf8_lossy(t).trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        for h in &self.0 {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&h.value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl RequestHead {
    /// The head as bytes on the wire, ending with the empty line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(format!(" HTTP/1.{}\r\n", self.version).as_bytes());
        self.headers.write_to(&mut out);
        out
    }

    /// How the request's body is delimited: `chunked`, else
    /// `Content-Length`, else no body. A request with both is refused
    /// (`Malformed`): a proxy that forwards it lets two servers disagree on
    /// where the request ends (request smuggling, RFC 9112 §6.1).
    pub fn body(&self) -> Result<Body, HttpError> {
        let te = self.headers.tokens("transfer-encoding");
        let length = content_length(&self.headers)?;
        match (te.is_empty(), length) {
            (false, Some(_)) => Err(HttpError::Malformed(
                "both Transfer-Encoding and Content-Length",
            )),
            (false, None) if te == ["chunked"] => Ok(Body::Chunked),
            (false, None) => Err(HttpError::UnsupportedEncoding),
            (true, Some(0)) | (true, None) => Ok(Body::Empty),
            (true, Some(n)) => Ok(Body::Length(n)),
        }
    }

    /// Whether the client asked to keep the connection open after this
    /// request: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        let tokens = self.headers.tokens("connection");
        if self.version == 0 {
            tokens.iter().any(|t| t == "keep-alive")
        } else {
            !tokens.iter().any(|t| t == "close")
        }
    }
}

impl ResponseHead {
    /// A response with no header fields yet: `ResponseHead::new(502, "Bad Gateway")`.
    pub fn new(status: u16, reason: &str) -> Self {
        ResponseHead {
            status,
            reason: reason.to_owned(),
            version: 1,
            headers: Headers::default(),
        }
    }

    /// The head as bytes on the wire, ending with the empty line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(
            format!(
                "HTTP/1.{} {} {}\r\n",
                self.version, self.status, self.reason
            )
            .as_bytes(),
        );
        self.headers.write_to(&mut out);
        out
    }

    /// How the body of this response to a `method` request is delimited
    /// (RFC 9112 §6.3): none after HEAD, 1xx, 204 and 304; chunked; a
    /// Content-Length; or until the upstream closes the connection.
    pub fn body(&self, method: &str) -> Result<Body, HttpError> {
        if method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&self.status)
            || self.status == 204
            || self.status == 304
        {
            return Ok(Body::Empty);
        }
        let te = self.headers.tokens("transfer-encoding");
        if te.last().is_some_and(|t| t == "chunked") {
            return Ok(Body::Chunked);
        }
        if !te.is_empty() {
            return Ok(Body::UntilClose);
        }
        Ok(match content_length(&self.headers)? {
            Some(0) => Body::Empty,
            Some(n) => Body::Length(n),
            None => Body::UntilClose,
        })
    }
}

/// The Content-Length, if any; several different values are malformed.
fn content_length(headers: &Headers) -> Result<Option<u64>, HttpError> {
    let mut found = None;
    for value in headers.get_all("content-length") {
        let n = std::str::from_utf8(value)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(HttpError::Malformed("bad Content-Length"))?;
        if found.is_some_and(|m| m != n) {
            return Err(HttpError::Malformed("conflicting Content-Length values"));
        }
        found = Some(n);
    }
    Ok(found)
}

// ANCHOR: read_head
/// Reads one request head from `reader`, up to and including its empty line,
/// and leaves whatever follows (the body, the next request, a tunnel's
/// first bytes) in the reader. `Ok(None)`: the connection closed cleanly
/// before a new head began.
pub async fn read_request_head<R>(reader: &mut R) -> Result<Option<RequestHead>, HttpError>
where
    R: AsyncBufRead + Unpin,
{
    let Some(buf) = read_head_bytes(reader).await? else {
        return Ok(None);
    };
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    match req.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HttpError::Malformed("incomplete head")),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::HeadTooLarge),
        Err(_) => return Err(HttpError::Malformed("invalid request head")),
    }
    Ok(Some(RequestHead {
        method: req.method.unwrap_or_default().to_owned(),
        target: req.path.unwrap_or_default().to_owned(),
        version: req.version.unwrap_or(1),
        headers: owned(req.headers),
    }))
}
// ANCHOR_END: read_head

/// Reads one response head from `reader` (see [`read_request_head`]).
/// A connection closed before the head is `Incomplete`: a proxy that sent a
/// request expects an answer.
pub async fn read_response_head<R>(reader: &mut R) -> Result<ResponseHead, HttpError>
where
    R: AsyncBufRead + Unpin,
{
    let buf = read_head_bytes(reader)
        .await?
        .ok_or(HttpError::Incomplete)?;
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut fields);
    match res.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HttpError::Malformed("incomplete head")),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::HeadTooLarge),
        Err(_) => return Err(HttpError::Malformed("invalid response head")),
    }
    Ok(ResponseHead {
        status: res.code.unwrap_or_default(),
        reason: res.reason.unwrap_or_default().to_owned(),
        version: res.version.unwrap_or(1),
        headers: owned(res.headers),
    })
}

fn owned(fields: &[httparse::Header<'_>]) -> Headers {
    Headers(
        fields
            .iter()
            .map(|h| Header {
                name: h.name.to_owned(),
                value: h.value.to_vec(),
            })
            .collect(),
    )
}

/// Reads lines until the empty line that ends a head, at most `MAX_HEAD`
/// bytes in all. Reading line by line never takes a byte past the head.
async fn read_head_bytes<R>(reader: &mut R) -> Result<Option<Vec<u8>>, HttpError>
where
    R: AsyncBufRead + Unpin,
{
    let mut buf = Vec::with_capacity(512);
    loop {
        let start = buf.len();
        let room = (MAX_HEAD - start) as u64;
        let n = (&mut *reader)
            .take(room)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return if start == 0 {
                Ok(None)
            } else if start >= MAX_HEAD {
                Err(HttpError::HeadTooLarge)
            } else {
                Err(HttpError::Incomplete)
            };
        }
        if buf[start..].ends_with(b"\n") {
            let line = &buf[start..];
            if line == b"\r\n" || line == b"\n" {
                // RFC 9112 §2.2: ignore empty lines before a request line.
                if start == 0 {
                    buf.clear();
                    continue;
                }
                return Ok(Some(buf));
            }
        } else if buf.len() >= MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        } else {
            return Err(HttpError::Incomplete);
        }
    }
}

// ANCHOR: copy_body
/// Copies one body, delimited as `body` says, from `reader` to `writer`,
/// through a fixed 16 KiB buffer: however large the body, it is never held
/// whole. A chunked body is copied as it is, chunk sizes and trailers
/// included. Returns the number of bytes copied. Does not flush `writer`.
pub async fn copy_body<R, W>(reader: &mut R, writer: &mut W, body: Body) -> Result<u64, HttpError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match body {
        Body::Empty => Ok(0),
        Body::Length(n) => copy_exact(reader, writer, n).await,
        Body::UntilClose => Ok(tokio::io::copy_buf(reader, writer).await?),
        Body::Chunked => copy_chunked(reader, writer).await,
    }
}
// ANCHOR_END: copy_body

async fn copy_exact<R, W>(reader: &mut R, writer: &mut W, n: u64) -> Result<u64, HttpError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = n;
    while left > 0 {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Err(HttpError::Incomplete);
        }
        let take = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        writer.write_all(&chunk[..take]).await?;
        reader.consume(take);
        left -= take as u64;
    }
    Ok(n)
}

async fn copy_chunked<R, W>(reader: &mut R, writer: &mut W) -> Result<u64, HttpError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut total = 0;
    let mut line = Vec::with_capacity(64);
    loop {
        read_line(reader, &mut line).await?;
        writer.write_all(&line).await?;
        total += line.len() as u64;
        // `1a;name=value\r\n`: hexadecimal digits, then optional extensions.
        let digits: &[u8] = line
            .split(|&b| b == b';' || b == b'\r' || b == b'\n')
            .next()
            .unwrap_or_default();
        let digits = std::str::from_utf8(digits)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?
            .trim();
        let size =
            u64::from_str_radix(digits, 16).map_err(|_| HttpError::Malformed("bad chunk size"))?;
        if size == 0 {
            break;
        }
        // The chunk's data and the CRLF after it.
        total += copy_exact(reader, writer, size + 2).await?;
    }
    // Trailer fields, up to the empty line.
    loop {
        read_line(reader, &mut line).await?;
        writer.write_all(&line).await?;
        total += line.len() as u64;
        if line == b"\r\n" || line == b"\n" {
            return Ok(total);
        }
    }
}

/// One line of at most `MAX_LINE` bytes, `\n` included, into `line`.
async fn read_line<R>(reader: &mut R, line: &mut Vec<u8>) -> Result<(), HttpError>
where
    R: AsyncBufRead + Unpin,
{
    line.clear();
    (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', line)
        .await?;
    match line.last() {
        Some(b'\n') => Ok(()),
        _ if line.len() >= MAX_LINE => Err(HttpError::Malformed("chunk line too long")),
        _ => Err(HttpError::Incomplete),
    }
}

/// Writes a complete short response: `status reason`, the given fields,
/// `Content-Length` and `text` as the body. For the proxy's own answers
/// (400, 502, 504, ...).
pub async fn write_simple_response<W>(
    writer: &mut W,
    status: u16,
    reason: &str,
    extra: &[(&str, &str)],
    text: &str,
) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut head = ResponseHead::new(status, reason);
    for (name, value) in extra {
        head.headers.append(name, value.as_bytes());
    }
    head.headers
        .append("Content-Type", "text/plain; charset=utf-8");
    head.headers
        .append("Content-Length", text.len().to_string().into_bytes());
    let mut out = head.to_bytes();
    out.extend_from_slice(text.as_bytes());
    writer.write_all(&out).await?;
    writer.flush().await
}
