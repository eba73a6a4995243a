//! File names inside export archives: `NN_publisher_titleslug.ext`, ASCII only, so they
//! survive every unzip tool and file system.

use std::collections::HashSet;

/// Longest title slug; publisher and number come on top.
const MAX_SLUG: usize = 60;
const MAX_PUBLISHER: usize = 63;

/// Digits the row numbers of a batch of `total` links need (at least two: `01`…`99`).
pub fn number_width(total: i32) -> usize {
    total.max(1).to_string().len().max(2)
}

/// ASCII-folded (`Bästa cyklar` → `basta-cyklar`), lowercase, words joined by hyphens, cut at
/// a word boundary within `max` characters; `fallback` when nothing is left.
pub fn slug(text: &str, max: usize, keep_dots: bool, fallback: &str) -> String {
    let folded = deunicode::deunicode(text).to_ascii_lowercase();
    let mut out = String::with_capacity(folded.len().min(max));
    let mut pending_hyphen = false;
    for c in folded.chars() {
        let keep = c.is_ascii_alphanumeric() || (keep_dots && c == '.');
        if keep {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c);
        } else {
            pending_hyphen = true;
        }
    }
    if out.len() > max {
        let cut = out[..=max].rfind('-').filter(|&i| i > 0).unwrap_or(max);
        out.truncate(cut);
    }
    let out = out.trim_matches(['-', '.']).to_owned();
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out
    }
}

/// Hands out names for an archive's entries, never the same one twice (row numbers are unique
/// within a batch, so a clash only happens if the data is odd; the name then gets `-2`, `-3`).
#[derive(Debug)]
pub struct Namer {
    width: usize,
    used: HashSet<String>,
}

impl Namer {
    pub fn new(total_links: i32) -> Self {
        Self {
            width: number_width(total_links),
            used: HashSet::new(),
        }
    }

    /// `NN_publisher_titleslug.ext` for the 1-based row `number`.
    pub fn name(&mut self, number: i32, publisher: &str, title: &str, ext: &str) -> String {
        let stem = format!(
            "{number:0width$}_{}_{}",
            slug(publisher, MAX_PUBLISHER, true, "publisher"),
            slug(title, MAX_SLUG, false, "article"),
            width = self.width,
        );
        let mut name = format!("{stem}.{ext}");
        let mut n = 2;
        while !self.used.insert(name.clone()) {
            name = format!("{stem}-{n}.{ext}");
            n += 1;
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_fit_the_batch() {
        assert_eq!(number_width(1), 2);
        assert_eq!(number_width(99), 2);
        assert_eq!(number_width(175), 3);
        assert_eq!(number_width(1000), 4);
    }

    #[test]
    fn slugs_are_ascii_lowercase_and_bounded() {
        assert_eq!(
            slug("Bästa cyklarna för 2026!", 60, false, "x"),
            "basta-cyklarna-for-2026"
        );
        assert_eq!(slug("Straße & Über", 60, false, "x"), "strasse-uber");
        assert_eq!(slug("¿¡!?", 60, false, "article"), "article");
        let long = "word ".repeat(40);
        let s = slug(&long, 60, false, "x");
        assert!(s.len() <= 60 && !s.ends_with('-'), "{s}");
        assert_eq!(slug("Bloggen.SE", 63, true, "p"), "bloggen.se");
        assert_eq!(slug("räksmörgås.se", 63, true, "p"), "raksmorgas.se");
    }

    #[test]
    fn names_are_padded_and_unique() {
        let mut namer = Namer::new(175);
        assert_eq!(
            namer.name(7, "bloggen.se", "Cyklar i stan", "md"),
            "007_bloggen.se_cyklar-i-stan.md"
        );
        assert_eq!(
            namer.name(7, "bloggen.se", "Cyklar i stan", "md"),
            "007_bloggen.se_cyklar-i-stan-2.md"
        );
    }
}
