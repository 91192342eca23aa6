//! Installing and running the book's tools (mdBook and its link checker).

use std::process::{Command, ExitCode};

use crate::exercises;

/// The mdBook release the book is written and tested against.
pub const MDBOOK_VERSION: &str = "0.5.4";
/// The link checker for mdBook 0.5 (the original mdbook-linkcheck cannot
/// read mdBook 0.5's render context).
pub const LINKCHECK_VERSION: &str = "0.13.0";

pub fn setup(maintainer: bool) -> crate::Result<ExitCode> {
    ensure_mdbook()?;
    if maintainer {
        ensure_linkcheck()?;
    }
    println!("Ready. Next: `cargo course serve` to read the book.");
    Ok(ExitCode::SUCCESS)
}

pub fn serve(open: bool, port: u16) -> crate::Result<ExitCode> {
    ensure_mdbook()?;
    let mut cmd = Command::new("mdbook");
    cmd.current_dir(exercises::root())
        .arg("serve")
        .args(["--port", &port.to_string()]);
    if open {
        cmd.arg("--open");
    }
    println!("Serving the book at http://localhost:{port} (Ctrl-C to stop)");
    let status = cmd
        .status()
        .map_err(|e| format!("running mdbook serve: {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Installs the pinned mdBook unless that exact version is on PATH.
pub fn ensure_mdbook() -> crate::Result<()> {
    let wanted = format!("v{MDBOOK_VERSION}");
    match version_of("mdbook") {
        Some(v) if v.contains(&wanted) => Ok(()),
        found => {
            if let Some(v) = found {
                println!("Found {v}; the course is tested with mdbook {wanted}.");
            }
            cargo_install(&format!("mdbook@{MDBOOK_VERSION}"))
        }
    }
}

pub fn ensure_linkcheck() -> crate::Result<()> {
    match version_of("mdbook-linkcheck2") {
        Some(_) => Ok(()),
        None => cargo_install(&format!("mdbook-linkcheck2@{LINKCHECK_VERSION}")),
    }
}

fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn cargo_install(spec: &str) -> crate::Result<()> {
    println!("Installing {spec} (a one-time build of a few minutes)...");
    let status = Command::new(crate::testrun::cargo())
        .args(["install", "--locked", spec])
        .status()
        .map_err(|e| format!("running cargo install {spec}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo install --locked {spec}` failed (see above)"
        ))
    }
}
