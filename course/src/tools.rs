//! Installing and running the book's tools (mdBook and its link checker).

use std::net::TcpListener;
use std::process::{Command, ExitCode, Stdio};

use crate::{exercises, i18n, static_files};

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

/// Builds the book in every language (so that each page's language link
/// works) and serves book/html/ on the loopback interface. For live reload
/// while editing the English text, maintainers run `mdbook serve` instead.
pub fn serve(open: bool, port: u16, lang: Option<String>) -> crate::Result<ExitCode> {
    let root = exercises::root();
    let lang = i18n::choose(&root, lang.as_deref())?;
    ensure_mdbook()?;
    for line in i18n::build_all(&root)? {
        println!("{line}");
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port} ({e}); try another port with --port")
    })?;
    let url = match &lang {
        Some(lang) => format!("http://localhost:{port}/{lang}/"),
        None => format!("http://localhost:{port}/"),
    };
    println!("Serving the book at {url} (Ctrl-C to stop)");
    if open {
        open_in_browser(&url);
    }
    static_files::run(listener, i18n::book_html(&root))?;
    Ok(ExitCode::SUCCESS)
}

/// Asks the desktop to open `url`; says so when it cannot.
fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened = Command::new(opener)
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok();
    if !opened {
        println!("(Open {url} in your browser.)");
    }
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

pub fn cargo_install(spec: &str) -> crate::Result<()> {
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
