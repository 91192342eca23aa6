//! Writing responses, and a few small helpers. This file is given and
//! finished: you use it from `lib.rs`, you do not change it. The reference
//! solution uses this very file, through `#[path]`.
//!
//! What is here is what the chapter is *not* about: formatting a status line,
//! the `Date` header, percent-decoding and guessing a content type.

use std::cell::RefCell;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// A response before it is written: status, a few headers, the body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code, such as 200 or 404.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'static str>,
    /// The `Allow` header (for 405 Method Not Allowed), if any.
    pub allow: Option<&'static str>,
    /// The body. For a `HEAD` request it is measured for `Content-Length`
    /// but not sent.
    pub body: Bytes,
}

impl Response {
    /// A response with a body of the given type.
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response {
        Response {
            status,
            content_type: Some(content_type),
            allow: None,
            body: body.into(),
        }
    }

    /// An error response: its body is the status line's text, such as
    /// `404 Not Found\n`, as plain text.
    pub fn error(status: u16) -> Response {
        let body = format!("{status} {}\n", reason(status));
        Response::new(status, "text/plain; charset=utf-8", body)
    }

    /// 405 Method Not Allowed, with the `Allow` header listing the methods
    /// the resource does accept (such as `"GET, HEAD"`).
    pub fn method_not_allowed(allow: &'static str) -> Response {
        Response {
            allow: Some(allow),
            ..Response::error(405)
        }
    }
}

// ANCHOR: write_response
/// Appends `response` to `out` as HTTP/1.1 bytes: the status line, `Date`,
/// `Content-Length` (always, also for `HEAD` and errors), `Content-Type` and
/// `Allow` when set, `Connection: close` when `close` is true, the empty
/// line, and the body unless `head_only` (the answer to a `HEAD` request).
///
/// Build the whole response in one buffer and send it with one write: a
/// response written piece by piece costs one system call (and with Nagle's
/// algorithm, possibly one delayed packet) per piece.
pub fn write_response(out: &mut Vec<u8>, response: &Response, head_only: bool, close: bool) {
    let status = response.status;
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason(status)).as_bytes());
    with_http_date(|date| {
        out.extend_from_slice(b"Date: ");
        out.extend_from_slice(date.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
    let length = response.body.len();
    out.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
    if let Some(content_type) = response.content_type {
        out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
    }
    if let Some(allow) = response.allow {
        out.extend_from_slice(format!("Allow: {allow}\r\n").as_bytes());
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&response.body);
    }
}
// ANCHOR_END: write_response

/// The reason phrase of a status code (RFC 9110, section 15).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

// ANCHOR: http_date
/// Formats a time as an IMF-fixdate, the format of the `Date` header
/// (RFC 9110, section 5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Times before 1970 do not occur in a Date header; clamp them.
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (hour, min, sec) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let weekday = DAYS[(days % 7) as usize]; // 1970-01-01 was a Thursday
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{weekday}, {day:02} {} {year} {hour:02}:{min:02}:{sec:02} GMT",
        MONTHS[month as usize - 1]
    )
}

/// Year, month (1-12) and day (1-31) of a count of days since 1970-01-01,
/// in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of the 400-year era
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153; // month, counted from March
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
// ANCHOR_END: http_date

thread_local! {
    /// The `Date` of the current second, per thread: formatting it once a
    /// second instead of once a response (hyper does the same).
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Calls `f` with the current time as an IMF-fixdate.
fn with_http_date(f: impl FnOnce(&str)) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != second {
            *cache = (second, http_date(now));
        }
        f(&cache.1);
    });
}

// ANCHOR: percent_decode
/// Decodes `%XX` escapes (two hexadecimal digits each) in a request path.
/// Returns `None` if a `%` is not followed by two hexadecimal digits. `+`
/// stays a `+` (it means a space only in form data, not in a path).
///
/// Note that decoding can produce any byte: `%2e%2e` is `..`, `%2f` is `/`
/// and `%00` is a NUL byte. Check the path *after* decoding it.
pub fn percent_decode(path: &str) -> Option<Vec<u8>> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            // Two ASCII hex digits: valid UTF-8, and a valid number.
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}
// ANCHOR_END: percent_decode

/// A `Content-Type` for a file, from its extension.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("txt") => "text/plain; charset=utf-8",
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}
