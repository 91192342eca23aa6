//! The book in other languages.
//!
//! The English Markdown under src/ is the one source. A translation is a
//! gettext catalogue, `po/<lang>.po` (mdbook-i18n-helpers): each message is
//! a paragraph, heading or list item of the English book with its
//! translation. mdbook-gettext, an mdBook preprocessor, swaps them in when the
//! book is built with `MDBOOK_BOOK__LANGUAGE=<lang>`; a message without a
//! translation (or marked fuzzy) stays English.
//!
//! The English book is built into book/html/ and each translation into
//! book/html/<lang>/, so that a page and its translation are one path apart
//! (theme/language-link.js links them).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::{exercises, tools};

/// The mdbook-i18n-helpers release the translations are built with (the
/// first for mdBook 0.5).
pub const I18N_VERSION: &str = "0.4.0";

/// The languages with a catalogue under po/, e.g. `["zh-CN"]`.
pub fn languages(root: &Path) -> Vec<String> {
    let mut langs: Vec<String> = fs::read_dir(root.join("po"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".po").map(str::to_owned)
        })
        .collect();
    langs.sort();
    langs
}

/// The learner's language setting: `COURSE_LANG=zh-CN` (unset or empty:
/// English).
pub fn from_env() -> Option<String> {
    std::env::var("COURSE_LANG")
        .ok()
        .filter(|l| !l.trim().is_empty())
}

/// Checks `lang` against the catalogues; `None` and "en" mean English.
pub fn choose(root: &Path, lang: Option<&str>) -> crate::Result<Option<String>> {
    match lang {
        None | Some("en") => Ok(None),
        Some(lang) => {
            let known = languages(root);
            if known.iter().any(|l| l == lang) {
                Ok(Some(lang.to_owned()))
            } else {
                let mut all = vec!["en".to_owned()];
                all.extend(known);
                Err(format!(
                    "no translation `{lang}`; the book is available in: {}",
                    all.join(", ")
                ))
            }
        }
    }
}

/// Installs mdbook-gettext unless it is on PATH. Without it, mdBook skips the
/// (optional) preprocessor and a "translated" build would be English.
pub fn ensure_gettext() -> crate::Result<()> {
    let found = Command::new("mdbook-gettext")
        .args(["supports", "html"])
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        Ok(())
    } else {
        tools::cargo_install(&format!("mdbook-i18n-helpers@{I18N_VERSION}"))
    }
}

/// Builds the English book into book/html/, then each translation into
/// book/html/<lang>/. Returns one line per language built.
pub fn build_all(root: &Path) -> Result<Vec<String>, String> {
    let mut built = Vec::new();
    let english = run_mdbook(root, None)?;
    built.push(format!("en: {}", english.trim()));
    let langs = languages(root);
    if langs.is_empty() {
        return Ok(built);
    }
    ensure_gettext()?;
    let html = book_html(root);
    for lang in langs {
        let staging = root.join("book").join(format!(".build-{lang}"));
        let _ = fs::remove_dir_all(&staging);
        let out = run_mdbook(root, Some((&lang, &staging)))?;
        let target = html.join(&lang);
        let _ = fs::remove_dir_all(&target);
        // With several renderers mdBook writes <dir>/html, <dir>/linkcheck2.
        let from = if staging.join("html").is_dir() {
            staging.join("html")
        } else {
            staging.clone()
        };
        fs::rename(&from, &target).map_err(|e| {
            format!(
                "moving the {lang} book to {}: {e}",
                exercises::display(root, &target)
            )
        })?;
        let _ = fs::remove_dir_all(&staging);
        let catalogue = fs::read_to_string(root.join("po").join(format!("{lang}.po")))
            .map_err(|e| format!("reading po/{lang}.po: {e}"))?;
        let c = coverage(&catalogue);
        built.push(format!(
            "{lang}: {} ({} of {} messages of text translated, {}%)",
            out.trim(),
            c.translated,
            c.total,
            c.percent()
        ));
    }
    Ok(built)
}

pub fn book_html(root: &Path) -> PathBuf {
    root.join("book").join("html")
}

/// `mdbook build`, English or one translation into `dir`. On success,
/// whether the link checker ran; on failure, mdBook's output.
fn run_mdbook(root: &Path, lang: Option<(&str, &Path)>) -> Result<String, String> {
    let mut cmd = Command::new("mdbook");
    cmd.current_dir(root).arg("build");
    if let Some((lang, dir)) = lang {
        cmd.env("MDBOOK_BOOK__LANGUAGE", lang).arg("-d").arg(dir);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("could not run mdbook: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        let which = lang.map_or("en", |(l, _)| l);
        return Err(format!(
            "mdbook build ({which}) failed or found broken links:\n{tail}"
        ));
    }
    Ok(if text.contains("linkcheck2") {
        "built, links checked".to_owned()
    } else {
        "built (links not checked: mdbook-linkcheck2 not installed)".to_owned()
    })
}

/// How much of a catalogue is translated. Messages that are code (the
/// comments and string literals of listings, a table cell that is only
/// `code`) stay in English on purpose and are counted apart.
#[derive(Debug, PartialEq, Eq)]
pub struct Coverage {
    pub translated: usize,
    pub fuzzy: usize,
    pub total: usize,
    pub code: usize,
}

/// A message the translation leaves in English: code from a listing.
fn is_code(id: &str) -> bool {
    let s = id.trim();
    s.starts_with(['"', '\''])
        || s.starts_with("//")
        || s.starts_with("b\"")
        || s.starts_with("b'")
        || s.contains("```")
        || (s.len() > 1 && s.starts_with('`') && s.ends_with('`') && s.matches('`').count() == 2)
}

impl Coverage {
    pub fn percent(&self) -> usize {
        (self.translated * 100).checked_div(self.total).unwrap_or(0)
    }
}

/// Counts the messages of a PO file: translated (a non-empty msgstr, not
/// fuzzy; mdbook-gettext uses only those), fuzzy, and all (the header and
/// obsolete `#~` entries aside).
pub fn coverage(po: &str) -> Coverage {
    let mut c = Coverage {
        translated: 0,
        fuzzy: 0,
        total: 0,
        code: 0,
    };
    for entry in po.split("\n\n") {
        let lines: Vec<&str> = entry
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() || lines.iter().all(|l| l.starts_with("#~")) {
            continue;
        }
        let Some(id_at) = lines.iter().position(|l| l.starts_with("msgid ")) else {
            continue;
        };
        let Some(str_at) = lines.iter().position(|l| l.starts_with("msgstr ")) else {
            continue;
        };
        let id = joined(&lines[id_at..str_at]);
        if id.is_empty() {
            continue; // the header
        }
        if is_code(&id) {
            c.code += 1;
            continue;
        }
        c.total += 1;
        let fuzzy = lines[..id_at]
            .iter()
            .any(|l| l.starts_with("#,") && l.contains("fuzzy"));
        let translated = !joined(&lines[str_at..]).is_empty();
        if fuzzy {
            c.fuzzy += 1;
        } else if translated {
            c.translated += 1;
        }
    }
    c
}

/// The text of `msgid "a" "b"` (or msgstr) lines: each line's outer quotes
/// removed and its escapes (`\"`, `\\`, `\n`, `\t`) undone.
fn joined(lines: &[&str]) -> String {
    let mut text = String::new();
    for line in lines.iter().filter(|l| !l.starts_with('#')) {
        let line = line
            .trim_start_matches("msgid ")
            .trim_start_matches("msgstr ")
            .trim();
        let inner = line
            .strip_prefix('"')
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or(line);
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => text.push('\n'),
                Some('t') => text.push('\t'),
                Some(other) => text.push(other),
                None => {}
            }
        }
    }
    text
}

/// Every translated `hints.<lang>.md` has as many hints as the exercise's
/// English `hints.md`, so `cargo course hint NN` counts the same in both.
pub fn hints_agree(root: &Path) -> Result<String, Vec<String>> {
    let mut failures = Vec::new();
    let mut translated = 0;
    for ex in exercises::all(root) {
        let english = fs::read_to_string(ex.dir.join("hints.md")).unwrap_or_default();
        let want = crate::hint::split(&english).len();
        for lang in languages(root) {
            let file = ex.dir.join(format!("hints.{lang}.md"));
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            translated += 1;
            let got = crate::hint::split(&text).len();
            if got != want {
                failures.push(format!(
                    "{} has {got} hints, hints.md has {want}",
                    exercises::display(root, &file)
                ));
            }
        }
    }
    if failures.is_empty() {
        Ok(format!(
            "translated hints files: {translated}, each as long as its English one"
        ))
    } else {
        Err(failures)
    }
}

/// `cargo course translations [--update]`.
pub fn run(update: bool) -> crate::Result<ExitCode> {
    let root = exercises::root();
    let langs = languages(&root);
    if update {
        tools::ensure_mdbook()?;
        ensure_gettext()?;
        let pot_dir = root.join("po");
        let out = Command::new("mdbook")
            .current_dir(&root)
            .env("MDBOOK_OUTPUT", r#"{"xgettext": {}}"#)
            .args(["build", "-d"])
            .arg(&pot_dir)
            .output()
            .map_err(|e| format!("could not run mdbook: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "extracting the English text failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        println!("po/messages.pot: the English text, extracted");
        for lang in &langs {
            let po = pot_dir.join(format!("{lang}.po"));
            let merged = Command::new("msgmerge")
                .args(["--quiet", "--update", "--backup=none"])
                .arg(&po)
                .arg(pot_dir.join("messages.pot"))
                .status()
                .map_err(|e| {
                    format!("could not run msgmerge ({e}); install GNU gettext (Debian: gettext)")
                })?;
            if !merged.success() {
                return Err(format!("msgmerge failed on po/{lang}.po"));
            }
            println!("po/{lang}.po: merged (changed English text is marked fuzzy)");
        }
    }
    if langs.is_empty() {
        println!("No translations yet (po/<lang>.po).");
    }
    for lang in &langs {
        let text = fs::read_to_string(root.join("po").join(format!("{lang}.po")))
            .map_err(|e| format!("reading po/{lang}.po: {e}"))?;
        let c = coverage(&text);
        println!(
            "{lang}: {} of {} messages of text translated ({}%), {} fuzzy; \
             {} messages of code (comments and strings in listings) stay in English",
            c.translated,
            c.total,
            c.percent(),
            c.fuzzy,
            c.code
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PO: &str = r#"msgid ""
msgstr ""
"Language: zh_CN\n"

#: src/SUMMARY.md:7
msgid "Week 1: async foundations"
msgstr "第 1 周：异步基础"

#: src/a.md:3
msgid ""
"A long "
"paragraph."
msgstr ""

#, fuzzy
#: src/a.md:5
msgid "Changed"
msgstr "旧的翻译"

#: src/a.md:9
msgid "Split"
msgstr ""
"分开的"
"翻译"

#: src/a.md:12
msgid "\"hello, {name}\""
msgstr ""

#~ msgid "Gone"
#~ msgstr "已删除"
"#;

    #[test]
    fn counts_translated_fuzzy_and_all_messages() {
        assert_eq!(
            coverage(PO),
            Coverage {
                translated: 2,
                fuzzy: 1,
                total: 4,
                code: 1,
            }
        );
        assert_eq!(coverage(PO).percent(), 50);
    }

    #[test]
    fn an_empty_catalogue_is_zero_percent() {
        assert_eq!(coverage("").percent(), 0);
    }
}
