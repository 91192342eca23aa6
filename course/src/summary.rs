//! The study plan as the book's table of contents states it: `src/SUMMARY.md`.
//!
//! Part headers `# Week N: title` group chapters into weeks; an entry
//! `- [Title](NN-topic.md)` is a written chapter, `- [Title]()` a draft (a
//! chapter not written yet). A chapter's number is its file name's leading
//! digits; a draft inside a week takes the number after the previous chapter.
//! Parts that are not weeks (appendices) have no numbered chapters.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Every page with a file, in reading order (prefix chapters, chapters,
    /// nested pages), for the browser check.
    pub pages: Vec<Page>,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub title: String,
    /// `Some(3)` for `# Week 3: ...`.
    pub week: Option<u32>,
    pub chapters: Vec<Chapter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    pub title: String,
    /// The Markdown file under src/; `None` for a draft.
    pub path: Option<String>,
    /// "03" for chapter 3 (and exercise-03); `None` outside the weeks.
    pub number: Option<String>,
}

impl Chapter {
    pub fn is_draft(&self) -> bool {
        self.path.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    /// The Markdown file under src/, e.g. "03-echo-server.md".
    pub path: String,
    /// The chapter number for a numbered chapter of a week.
    pub number: Option<String>,
}

impl Page {
    /// Where mdBook renders it, relative to the book's html root.
    pub fn html_path(&self) -> String {
        let stem = self.path.strip_suffix(".md").unwrap_or(&self.path);
        match stem.rsplit_once('/') {
            Some((dir, "README")) => format!("{dir}/index.html"),
            None if stem == "README" => "index.html".into(),
            _ => format!("{stem}.html"),
        }
    }
}

impl Summary {
    pub fn read(root: &Path) -> crate::Result<Summary> {
        let file = root.join("src").join("SUMMARY.md");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        Ok(parse(&text))
    }

    pub fn chapters(&self) -> impl Iterator<Item = &Chapter> {
        self.parts.iter().flat_map(|p| p.chapters.iter())
    }

    pub fn chapter(&self, number: &str) -> Option<&Chapter> {
        self.chapters()
            .find(|c| c.number.as_deref() == Some(number))
    }
}

pub fn parse(text: &str) -> Summary {
    let mut summary = Summary {
        pages: Vec::new(),
        parts: Vec::new(),
    };
    let mut last_number = 0u32;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix("# ") {
            // "# Summary" is the file's own title, not a part.
            if summary.parts.is_empty() && summary.pages.is_empty() && header.trim() == "Summary" {
                continue;
            }
            summary.parts.push(Part {
                title: header.trim().to_owned(),
                week: week_number(header),
                chapters: Vec::new(),
            });
            continue;
        }
        let nested = line.starts_with([' ', '\t']);
        let (is_item, rest) = match trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            Some(rest) => (true, rest.trim()),
            None => (false, trimmed),
        };
        let Some((title, path)) = link(rest) else {
            continue;
        };
        let path = (!path.is_empty()).then(|| path.to_owned());
        let in_week = summary.parts.last().is_some_and(|p| p.week.is_some());
        let number = if is_item && !nested && in_week {
            let n = path
                .as_deref()
                .and_then(leading_number)
                .unwrap_or(last_number + 1);
            last_number = n;
            Some(format!("{n:02}"))
        } else {
            None
        };
        if let Some(path) = &path {
            summary.pages.push(Page {
                title: title.to_owned(),
                path: path.clone(),
                number: number.clone(),
            });
        }
        if is_item
            && !nested
            && let Some(part) = summary.parts.last_mut()
        {
            part.chapters.push(Chapter {
                title: title.to_owned(),
                path,
                number,
            });
        }
    }
    summary
}

/// `[Title](path)` → (Title, path); the path may be empty (a draft).
fn link(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('[')?.strip_suffix(')')?;
    let (title, path) = inner.rsplit_once("](")?;
    Some((title.trim(), path.trim()))
}

/// "Week 3: async in depth" → 3.
fn week_number(header: &str) -> Option<u32> {
    let rest = header.trim().strip_prefix("Week ")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// "03-echo-server.md" → 3 (also inside a folder: "part/03-x.md").
fn leading_number(path: &str) -> Option<u32> {
    let file = path.rsplit('/').next()?;
    let digits: String = file.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || !file[digits.len()..].starts_with(['-', '_', '.']) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# Summary

[Introduction](introduction.md)
[Setting up](setup.md)

# Week 1: async foundations

- [Futures, async/await and the runtime](01-async-basics.md)
- [Tasks and shared state](02-tasks.md)
    - [A nested page](02-tasks/details.md)
- [A TCP echo server](03-echo-server.md)

# Week 2: data parallelism

- [Data parallelism with rayon](04-rayon.md)
- [Project: a multi-threaded file tool]()

---

# Week 3: async in depth

- [Async under the hood]()
- [select!, timeouts and time]()

# Appendices

- [Choosing a library in 2026]()
- [Glossary](glossary.md)
";

    #[test]
    fn reads_weeks_and_numbers_chapters() {
        let s = parse(SAMPLE);
        let weeks: Vec<(Option<u32>, &str, usize)> = s
            .parts
            .iter()
            .map(|p| (p.week, p.title.as_str(), p.chapters.len()))
            .collect();
        assert_eq!(
            weeks,
            vec![
                (Some(1), "Week 1: async foundations", 3),
                (Some(2), "Week 2: data parallelism", 2),
                (Some(3), "Week 3: async in depth", 2),
                (None, "Appendices", 2),
            ]
        );
        let numbers: Vec<Option<&str>> = s.chapters().map(|c| c.number.as_deref()).collect();
        assert_eq!(
            numbers,
            vec![
                Some("01"),
                Some("02"),
                Some("03"),
                Some("04"),
                Some("05"),
                Some("06"),
                Some("07"),
                None,
                None
            ]
        );
    }

    #[test]
    fn tells_drafts_from_written_chapters() {
        let s = parse(SAMPLE);
        let c3 = s.chapter("03").unwrap();
        assert_eq!(c3.title, "A TCP echo server");
        assert_eq!(c3.path.as_deref(), Some("03-echo-server.md"));
        assert!(!c3.is_draft());
        let c5 = s.chapter("05").unwrap();
        assert_eq!(c5.title, "Project: a multi-threaded file tool");
        assert!(c5.is_draft());
    }

    #[test]
    fn lists_every_written_page_in_order() {
        let s = parse(SAMPLE);
        let pages: Vec<(&str, String)> = s
            .pages
            .iter()
            .map(|p| (p.path.as_str(), p.html_path()))
            .collect();
        assert_eq!(
            pages,
            vec![
                ("introduction.md", "introduction.html".to_owned()),
                ("setup.md", "setup.html".to_owned()),
                ("01-async-basics.md", "01-async-basics.html".to_owned()),
                ("02-tasks.md", "02-tasks.html".to_owned()),
                ("02-tasks/details.md", "02-tasks/details.html".to_owned()),
                ("03-echo-server.md", "03-echo-server.html".to_owned()),
                ("04-rayon.md", "04-rayon.html".to_owned()),
                ("glossary.md", "glossary.html".to_owned()),
            ]
        );
        assert_eq!(s.pages[5].number.as_deref(), Some("03"));
        assert_eq!(s.pages[4].number, None, "a nested page is no chapter");
    }

    #[test]
    fn keeps_brackets_and_parentheses_in_titles() {
        let s = parse("# Week 1: x\n- [The `[u8]` slice (and more)](01-slices.md)\n");
        let c = s.chapter("01").unwrap();
        assert_eq!(c.title, "The `[u8]` slice (and more)");
        assert_eq!(c.path.as_deref(), Some("01-slices.md"));
    }

    #[test]
    fn readme_renders_as_index() {
        let page = Page {
            title: "x".into(),
            path: "README.md".into(),
            number: None,
        };
        assert_eq!(page.html_path(), "index.html");
    }

    #[test]
    fn ignores_text_that_is_no_entry() {
        let s = parse("# Summary\n\nSome prose [with a link](x.md) inside.\n");
        assert!(s.parts.is_empty());
        assert!(s.pages.is_empty());
    }
}
