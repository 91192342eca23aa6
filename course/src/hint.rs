//! `cargo course hint NN`: one more hint at each call.
//!
//! Hints live in `exercises/NN-topic/hints.md` as `## Hint 1`, `## Hint 2`, ...
//! A translation sits beside it as `hints.<lang>.md` (`hints.zh-CN.md`, with
//! `## 提示 1` headings), with the same hints in the same order.
//! How many the learner has seen is kept in target/course/hints/NN, shared by
//! the languages.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::exercises::{self, Exercise};
use crate::ui;

/// The hints of a hints.md, in order, each without its `## Hint N` line.
pub fn split(text: &str) -> Vec<String> {
    let mut hints: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if is_hint_heading(line) {
            hints.push(Vec::new());
        } else if let Some(current) = hints.last_mut() {
            current.push(line);
        }
    }
    hints
        .into_iter()
        .map(|lines| lines.join("\n").trim().to_owned())
        .collect()
}

/// `## Hint 3` (also `## Hint 3: title` or `## Hint 3 — title`), or the
/// Chinese `## 提示 3`.
fn is_hint_heading(line: &str) -> bool {
    let Some(rest) = line.trim_end().strip_prefix("## ") else {
        return false;
    };
    let rest = rest.trim_start();
    let Some(rest) = rest
        .strip_prefix("Hint")
        .or_else(|| rest.strip_prefix("提示"))
    else {
        return false;
    };
    rest.trim_start().starts_with(|c: char| c.is_ascii_digit())
}

/// The hints file to show: `hints.<lang>.md` when asked for and present,
/// else the English `hints.md` (and a note saying so).
pub fn file_for(dir: &Path, lang: Option<&str>) -> (PathBuf, Option<String>) {
    let english = dir.join("hints.md");
    match lang {
        None => (english, None),
        Some(lang) => {
            let translated = dir.join(format!("hints.{lang}.md"));
            if translated.is_file() {
                (translated, None)
            } else {
                let note =
                    format!("(No {lang} hints for this exercise yet: here they are in English.)");
                (english, Some(note))
            }
        }
    }
}

/// How many hints to show after a call, given how many were shown before.
pub fn next_count(shown: usize, total: usize) -> usize {
    (shown + 1).min(total)
}

fn counter_path(root: &Path, ex: &Exercise) -> PathBuf {
    exercises::target_dir(root)
        .join("course")
        .join("hints")
        .join(&ex.number)
}

fn read_counter(path: &Path) -> usize {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

pub fn run(number: &str, all: bool, reset: bool, lang: Option<String>) -> crate::Result<ExitCode> {
    let root = exercises::root();
    let ex = exercises::find(&root, number)?;
    let lang = crate::i18n::choose(&root, lang.as_deref())?;
    let counter = counter_path(&root, &ex);
    if reset {
        match fs::remove_file(&counter) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", counter.display())),
        }
        println!(
            "Hints for exercise {} start over: `cargo course hint {}` shows hint 1.",
            ex.number, ex.number
        );
        if !all {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let (file, note) = file_for(&ex.dir, lang.as_deref());
    if let Some(note) = note {
        println!("{}", ui::dim(&note));
    }
    let text = fs::read_to_string(&file).map_err(|_| {
        format!(
            "exercise {} has no hints yet ({} is missing)",
            ex.number,
            exercises::display(&root, &file)
        )
    })?;
    let hints = split(&text);
    if hints.is_empty() {
        return Err(format!(
            "{} has no `## Hint 1` section",
            exercises::display(&root, &file)
        ));
    }
    let total = hints.len();
    // The command's own lines follow the hints' language (English or Chinese).
    let zh = file.file_name().is_some_and(|f| f == "hints.zh-CN.md");
    let heading = |i: usize| {
        let n = &ex.number;
        ui::bold(&if zh {
            format!("练习 {n} 的提示 {} / {total}", i + 1)
        } else {
            format!("Hint {} of {total} for exercise {n}", i + 1)
        })
    };

    if all {
        for (i, hint) in hints.iter().enumerate() {
            println!("{}\n\n{hint}\n", heading(i));
        }
        return Ok(ExitCode::SUCCESS);
    }

    let before = read_counter(&counter);
    let shown = next_count(before, total);
    if let Some(dir) = counter.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(&counter, format!("{shown}\n"))
        .map_err(|e| format!("cannot write {}: {e}", counter.display()))?;

    println!("{}\n\n{}\n", heading(shown - 1), hints[shown - 1]);
    let n = &ex.number;
    if shown < total {
        println!(
            "{}",
            ui::dim(&if zh {
                format!(
                    "还是卡住了？再运行一次 `cargo course hint {n}` 显示提示 {} / {total}。",
                    shown + 1
                )
            } else {
                format!(
                    "Still stuck? `cargo course hint {n}` again shows hint {} of {total}.",
                    shown + 1
                )
            })
        );
    } else if before >= total {
        println!(
            "{}",
            ui::dim(&if zh {
                format!(
                    "这已经是最后一条提示了。`cargo course hint {n} --all` 显示全部提示，`--reset` 从头开始；`cargo course solution {n}` 显示参考答案。"
                )
            } else {
                format!(
                    "That was the last hint (again). `cargo course hint {n} --all` shows them all, `--reset` starts over; `cargo course solution {n}` shows the reference solution."
                )
            })
        );
    } else {
        println!(
            "{}",
            ui::dim(&if zh {
                format!("这是最后一条提示。`cargo course hint {n} --all` 可再次显示全部提示。")
            } else {
                format!(
                    "That was the last hint. `cargo course hint {n} --all` shows them all again."
                )
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HINTS: &str = "\
# Hints for exercise 03

Read these one at a time.

## Hint 1

Start with one client.

## Hint 2: many clients

`tokio::spawn` one task per connection.

```rust
// a code block with a ## inside
```

## Hint 3

Use `BufReader::lines`.
## Not a hint heading
Still hint 3.
";

    #[test]
    fn splits_on_hint_headings_only() {
        let hints = split(HINTS);
        assert_eq!(hints.len(), 3);
        assert_eq!(hints[0], "Start with one client.");
        assert!(hints[1].starts_with("`tokio::spawn`"), "{}", hints[1]);
        assert!(hints[1].contains("a code block with a ## inside"));
        assert!(hints[2].contains("## Not a hint heading\nStill hint 3."));
    }

    #[test]
    fn ignores_the_title_and_text_before_the_first_hint() {
        let hints = split(HINTS);
        assert!(
            hints
                .iter()
                .all(|h| !h.contains("Read these one at a time"))
        );
        assert!(split("# Hints for exercise 01\n\nNothing yet.\n").is_empty());
    }

    #[test]
    fn reads_chinese_hint_headings() {
        let hints = split(
            "# 练习 03 的提示\n\n## 提示 1\n\n先写一个客户端。\n\n## 提示 2\n\n每个连接一个任务。\n",
        );
        assert_eq!(hints, ["先写一个客户端。", "每个连接一个任务。"]);
    }

    #[test]
    fn counts_up_to_the_last_hint_and_stays_there() {
        assert_eq!(next_count(0, 4), 1);
        assert_eq!(next_count(1, 4), 2);
        assert_eq!(next_count(3, 4), 4);
        assert_eq!(next_count(4, 4), 4);
        assert_eq!(next_count(9, 4), 4);
    }
}
