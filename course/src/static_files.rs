//! A small static file server for the built book (`cargo course serve`).
//!
//! It serves book/html/ (the English book and its translations under
//! book/html/<lang>/) on the loopback interface only: one request per
//! connection, GET and HEAD, nothing outside the directory.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

pub fn run(listener: TcpListener, dir: PathBuf) -> crate::Result<()> {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let dir = dir.clone();
        std::thread::spawn(move || {
            // A client that goes away mid-request is not our problem.
            let _ = answer(stream, &dir);
        });
    }
    Ok(())
}

fn answer(mut stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?).take(16 * 1024);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read (and ignore) the headers, up to the blank line.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"",
            true,
        );
    }
    let head_only = method == "HEAD";
    match resolve(dir, target) {
        Some(file) => match fs::read(&file) {
            Ok(body) => respond(&mut stream, "200 OK", content_type(&file), &body, head_only),
            Err(_) => not_found(&mut stream, dir, head_only),
        },
        None => not_found(&mut stream, dir, head_only),
    }
}

fn not_found(stream: &mut TcpStream, dir: &Path, head_only: bool) -> std::io::Result<()> {
    let body = fs::read(dir.join("404.html")).unwrap_or_else(|_| b"Not found".to_vec());
    respond(
        stream,
        "404 Not Found",
        "text/html; charset=utf-8",
        &body,
        head_only,
    )
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// The file a request target names inside `dir`, or `None` when it would
/// leave `dir` (`..`, an absolute path) or is not valid percent-encoding.
pub fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let decoded = percent_decode(path)?;
    let relative = decoded.trim_start_matches('/');
    let mut file = dir.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if decoded.ends_with('/') || decoded.is_empty() || file.is_dir() {
        file.push("index.html");
    }
    Some(file)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    (!decoded.contains('\0')).then_some(decoded)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "json" => "application/json",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pages_and_directories_inside_the_book() {
        let dir = Path::new("/book");
        assert_eq!(
            resolve(dir, "/03-echo-server.html?x=1"),
            Some(PathBuf::from("/book/03-echo-server.html"))
        );
        assert_eq!(
            resolve(dir, "/zh-CN/"),
            Some(PathBuf::from("/book/zh-CN/index.html"))
        );
        assert_eq!(resolve(dir, "/"), Some(PathBuf::from("/book/index.html")));
        assert_eq!(
            resolve(dir, "/img/a%20b.svg"),
            Some(PathBuf::from("/book/img/a b.svg"))
        );
    }

    #[test]
    fn refuses_paths_that_leave_the_book() {
        let dir = Path::new("/book");
        assert_eq!(resolve(dir, "/../etc/passwd"), None);
        assert_eq!(resolve(dir, "/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(dir, "/a/%2E%2E/%2E%2E/x"), None);
        assert_eq!(resolve(dir, "/bad%zz"), None);
        assert_eq!(resolve(dir, "/nul%00.html"), None);
    }
}
