//! Terminal output: colours (only on a terminal, and never with NO_COLOR),
//! progress bars, clearing the screen.

use std::io::IsTerminal;
use std::sync::OnceLock;

fn colour() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        can_clear_screen() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    })
}

fn paint(code: &str, text: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

pub fn green(text: &str) -> String {
    paint("32", text)
}
pub fn red(text: &str) -> String {
    paint("31", text)
}
pub fn dim(text: &str) -> String {
    paint("2", text)
}
pub fn bold(text: &str) -> String {
    paint("1", text)
}

/// `[██████░░░░]` for `done` of `total`, `width` cells wide.
pub fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = filled_cells(done, total, width);
    format!(
        "[{}{}]",
        green(&"█".repeat(filled)),
        dim(&"░".repeat(width - filled))
    )
}

/// Rounded, but never empty once something is done and never full before
/// everything is.
fn filled_cells(done: usize, total: usize, width: usize) -> usize {
    if total == 0 || done == 0 {
        return 0;
    }
    let cells = ((done * width + total / 2) / total).clamp(1, width);
    if done < total {
        cells.min(width - 1)
    } else {
        cells
    }
}

/// Can we clear the screen? Only when stdout is a terminal that understands
/// escape codes: into a pipe or a file they would be garbage.
pub fn can_clear_screen() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        terminal_handles_escapes(
            std::io::stdout().is_terminal(),
            std::env::var("TERM").ok().as_deref(),
        )
    })
}

fn terminal_handles_escapes(is_terminal: bool, term: Option<&str>) -> bool {
    is_terminal && term != Some("dumb")
}

/// Clears the terminal and puts the cursor at the top left; does nothing
/// when stdout is not a terminal.
pub fn clear_screen() {
    if can_clear_screen() {
        print!("\x1b[2J\x1b[3J\x1b[H");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_in_proportion_and_is_full_only_when_done() {
        assert_eq!(filled_cells(0, 4, 8), 0);
        assert_eq!(filled_cells(2, 4, 8), 4);
        assert_eq!(filled_cells(4, 4, 8), 8);
        assert_eq!(filled_cells(1, 100, 8), 1);
        assert_eq!(filled_cells(99, 100, 8), 7);
        assert_eq!(filled_cells(0, 0, 4), 0);
    }

    #[test]
    fn escape_codes_only_on_a_real_terminal() {
        assert!(terminal_handles_escapes(true, Some("xterm-256color")));
        assert!(terminal_handles_escapes(true, None));
        assert!(!terminal_handles_escapes(true, Some("dumb")));
        assert!(!terminal_handles_escapes(false, Some("xterm-256color")));
        assert!(!terminal_handles_escapes(false, None));
    }
}
