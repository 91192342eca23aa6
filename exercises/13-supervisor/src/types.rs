//! The data types of exercise 13: the configuration (and its TOML form) and
//! the events a supervisor reports. They are given and finished: you use them
//! from `lib.rs`, you do not change them. The reference solution uses this
//! very file, through `#[path]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use serde::Deserialize;

// ANCHOR: config
/// What to run, and how to treat the programs that exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The programs, each with a unique name.
    pub programs: Vec<Program>,
    /// Restarts and stopping, the same for every program.
    pub policy: Policy,
}

/// One program to supervise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The name in events and in front of each output line: `[web] ...`.
    pub name: String,
    /// The program to run: a path, or a name looked up in `PATH`.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables added to the environment it inherits.
    pub env: BTreeMap<String, String>,
    /// Its working directory (`None`: the supervisor's).
    pub cwd: Option<PathBuf>,
}

/// When to restart a program that exited, and how to stop one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The delay before the first restart; each further restart within
    /// `restart_window` doubles it.
    pub backoff_base: Duration,
    /// No restart delay is longer than this.
    pub backoff_cap: Duration,
    /// A program that has already been restarted this many times within
    /// `restart_window` and exits again is not restarted: it is "fatal".
    pub max_restarts: u32,
    /// How far back restarts count, for the backoff and for `max_restarts`.
    pub restart_window: Duration,
    /// How long a program may take to exit after SIGTERM before it gets
    /// SIGKILL.
    pub grace: Duration,
}
// ANCHOR_END: config

impl Default for Policy {
    /// 100 ms doubling up to 5 s, at most 5 restarts a minute, 2 s of grace.
    fn default() -> Self {
        Policy {
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(5),
            max_restarts: 5,
            restart_window: Duration::from_secs(60),
            grace: Duration::from_secs(2),
        }
    }
}

// ANCHOR: event
/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a supervisor reports, in the order it happens for each program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The program was spawned; `pid` is its process id, which is also the
    /// id of the process group it leads.
    Started { name: String, pid: u32 },
    /// One line of its output, without the line ending (`\n` or `\r\n`).
    Line {
        name: String,
        stream: Stream,
        text: String,
    },
    /// The program exited (by itself or because it was stopped) and has
    /// been reaped.
    Exited { name: String, status: ExitStatus },
    /// It will be started again after `delay`.
    Restarting { name: String, delay: Duration },
    /// It exited too often within the window: it stays down ("fatal").
    GaveUp { name: String },
}
// ANCHOR_END: event

impl Event {
    /// The name of the program the event is about.
    pub fn name(&self) -> &str {
        match self {
            Event::Started { name, .. }
            | Event::Line { name, .. }
            | Event::Exited { name, .. }
            | Event::Restarting { name, .. }
            | Event::GaveUp { name } => name,
        }
    }
}

/// A configuration file that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The longest line a supervisor forwards in one [`Event::Line`], in bytes:
/// a longer line is cut into pieces of at most this size.
pub const MAX_LINE: usize = 8 * 1024;

/// The longest program name accepted: names go in front of every line.
pub const MAX_NAME_LEN: usize = 32;

// The file's shape, as serde reads it; `Config::from_toml` checks it and
// turns milliseconds into durations.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    policy: PolicyFile,
    #[serde(default, rename = "program")]
    programs: Vec<ProgramFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    backoff_base_ms: Option<u64>,
    backoff_cap_ms: Option<u64>,
    max_restarts: Option<u32>,
    restart_window_ms: Option<u64>,
    grace_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFile {
    name: String,
    command: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
}

impl Config {
    /// Reads a configuration in TOML, for example:
    ///
    /// ```toml
    /// [policy]            # every key optional; these are the defaults
    /// backoff_base_ms = 100
    /// backoff_cap_ms = 5000
    /// max_restarts = 5
    /// restart_window_ms = 60000
    /// grace_ms = 2000
    ///
    /// [[program]]
    /// name = "web"
    /// command = "python3"
    /// args = ["-m", "http.server", "8000"]
    /// cwd = "/tmp"        # optional
    /// env = { PYTHONUNBUFFERED = "1" }   # optional
    /// ```
    ///
    /// Rejects unknown keys, a file without programs, empty or duplicate
    /// names, names longer than [`MAX_NAME_LEN`] or with characters other
    /// than letters, digits, `-` and `_`, an empty command, and a cap below
    /// the base delay.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        let defaults = Policy::default();
        let ms = |v: Option<u64>, d: Duration| v.map(Duration::from_millis).unwrap_or(d);
        let p = file.policy;
        let policy = Policy {
            backoff_base: ms(p.backoff_base_ms, defaults.backoff_base),
            backoff_cap: ms(p.backoff_cap_ms, defaults.backoff_cap),
            max_restarts: p.max_restarts.unwrap_or(defaults.max_restarts),
            restart_window: ms(p.restart_window_ms, defaults.restart_window),
            grace: ms(p.grace_ms, defaults.grace),
        };
        if policy.backoff_cap < policy.backoff_base {
            return Err(ConfigError(
                "backoff_cap_ms is smaller than backoff_base_ms".into(),
            ));
        }
        if file.programs.is_empty() {
            return Err(ConfigError("no [[program]] to run".into()));
        }
        let mut programs: Vec<Program> = Vec::new();
        for f in file.programs {
            let name_ok = !f.name.is_empty()
                && f.name.len() <= MAX_NAME_LEN
                && f.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return Err(ConfigError(format!(
                    "program name {:?}: use 1 to {MAX_NAME_LEN} letters, digits, - or _",
                    f.name
                )));
            }
            if programs.iter().any(|p| p.name == f.name) {
                return Err(ConfigError(format!("two programs are named {:?}", f.name)));
            }
            if f.command.is_empty() {
                return Err(ConfigError(format!("program {:?} has no command", f.name)));
            }
            programs.push(Program {
                name: f.name,
                command: f.command,
                args: f.args,
                env: f.env,
                cwd: f.cwd,
            });
        }
        Ok(Config { programs, policy })
    }
}
