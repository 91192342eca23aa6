//! Real clients against the reference solutions: `nc` talks to the echo
//! server of chapter 03, and fdupes must find the same duplicate groups as the
//! duplicate finder of chapter 05. The exercises' tests use Rust clients; this
//! step makes sure the solutions also work with the tools a learner uses.
//!
//! A missing tool is skipped with one line, unless CI is set (then it fails).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::browser::in_ci;
use crate::testrun::cargo;

/// What the step found: facts, or what failed.
type Outcome = std::result::Result<Vec<String>, Vec<String>>;

const LIMIT: Duration = Duration::from_secs(20);

pub fn check(root: &Path) -> Outcome {
    let mut facts = Vec::new();
    let mut failures = Vec::new();
    for result in [nc_talks_to_echo_server(root), fdupes_agrees(root)] {
        match result {
            Ok(fact) => facts.push(fact),
            Err(failure) => failures.push(failure),
        }
    }
    if failures.is_empty() {
        Ok(facts)
    } else {
        Err(failures)
    }
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn missing(program: &str, package: &str) -> Result<String, String> {
    let what = format!("{program} is not installed (Debian package {package})");
    if in_ci() {
        Err(format!("real clients: {what}, and CI is set"))
    } else {
        println!("    skip: {what}");
        Ok(format!("real clients: skipped {program}"))
    }
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Kills the child when dropped, so that no server outlives the check.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nc_talks_to_echo_server(root: &Path) -> Result<String, String> {
    if !has("nc") {
        return missing("nc", "netcat-openbsd");
    }
    let built = Command::new(cargo())
        .current_dir(root)
        .args([
            "build",
            "--quiet",
            "-p",
            "solution-03",
            "--example",
            "serve",
        ])
        .status()
        .map_err(|e| format!("nc check: building the echo server: {e}"))?;
    if !built.success() {
        return Err("nc check: the solution's `serve` example does not build".into());
    }
    // A free port: the system picks one, then we hand it to the server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("nc check: finding a free port: {e}"))?
        .port();
    let server = Command::new(target_dir(root).join("debug/examples/serve"))
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nc check: starting the echo server: {e}"))?;
    let mut server = KillOnDrop(server);

    // Wait for its "listening on ..." line before connecting.
    let stderr = server.0.stderr.take().expect("piped stderr");
    let (ready_tx, ready_rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(LIMIT)
        .map_err(|_| "nc check: the echo server did not say it was listening".to_string())?;

    let mut nc = Command::new("nc")
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("nc check: running nc: {e}"))?;
    nc.stdin
        .take()
        .expect("piped stdin")
        .write_all(b"hello from nc\n/upper shout\n/quit\n")
        .map_err(|e| format!("nc check: writing to nc: {e}"))?;
    // The server closes the connection after /quit, which ends nc.
    let started = Instant::now();
    let mut nc = KillOnDrop(nc);
    loop {
        match nc.0.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > LIMIT => {
                return Err(
                    "nc check: nc did not exit: the server never closed the connection after /quit"
                        .into(),
                );
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("nc check: waiting for nc: {e}")),
        }
    }
    let mut output = String::new();
    nc.0.stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut output)
        .map_err(|e| format!("nc check: reading nc's output: {e}"))?;
    drop(server);
    let expected = "hello from nc\nSHOUT\nBYE\n";
    if output == expected {
        println!("    nc: the echo server answered {expected:?}");
        Ok("real clients: nc talked to the echo server (solution 03)".into())
    } else {
        Err(format!(
            "nc check: expected {expected:?} from the echo server, got {output:?}"
        ))
    }
}

fn fdupes_agrees(root: &Path) -> Result<String, String> {
    if !has("fdupes") {
        return missing("fdupes", "fdupes");
    }
    let work = target_dir(root).join("fdupes-compare");
    let out = Command::new("bash")
        .current_dir(root)
        .arg("solutions/05-dupfinder/compare-fdupes.sh")
        .arg(&work)
        .env("RUNS", "1")
        .output()
        .map_err(|e| format!("fdupes check: running compare-fdupes.sh: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let same = text
        .lines()
        .find(|l| l.starts_with("same "))
        .map(str::to_owned);
    match (out.status.success(), same) {
        (true, Some(line)) => {
            println!("    fdupes: {line}");
            Ok(format!("real clients: fdupes and dupfinder agree ({line})"))
        }
        _ => {
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(format!(
                "fdupes check: compare-fdupes.sh failed:\n{}",
                tail.join("\n")
            ))
        }
    }
}
