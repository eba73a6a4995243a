//! Banned filler phrases per language, kept as data files (`worker/qc/banned/<lang>.txt`).

const LISTS: &[(&str, &str)] = &[
    ("en", include_str!("../../qc/banned/en.txt")),
    ("sv", include_str!("../../qc/banned/sv.txt")),
    ("de", include_str!("../../qc/banned/de.txt")),
    ("nb", include_str!("../../qc/banned/nb.txt")),
    ("no", include_str!("../../qc/banned/nb.txt")),
    ("da", include_str!("../../qc/banned/da.txt")),
    ("fi", include_str!("../../qc/banned/fi.txt")),
];

/// Whether `language` has its own list (every language is also checked against English's).
pub fn has_list(language: &str) -> bool {
    LISTS.iter().any(|(code, _)| *code == language)
}

fn phrases(language: &str) -> impl Iterator<Item = &'static str> {
    LISTS
        .iter()
        .filter(move |(code, _)| *code == language)
        .flat_map(|(_, text)| text.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The banned phrases of `language` (and English ones, which leak into every language) found
/// in `text`.
pub fn found(text: &str, language: &str) -> Vec<&'static str> {
    let haystack = text.to_lowercase().replace('’', "'");
    let mut hits: Vec<&'static str> = phrases(language)
        .chain(
            if language == "en" {
                None
            } else {
                Some(phrases("en"))
            }
            .into_iter()
            .flatten(),
        )
        .filter(|p| haystack.contains(p))
        .collect();
    hits.dedup();
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_phrases_case_insensitively() {
        assert_eq!(
            found("In Today’s fast-paced world we…", "en"),
            ["in today's fast-paced world"]
        );
        assert_eq!(
            found("Sammanfattningsvis är det bra.", "sv"),
            ["sammanfattningsvis"]
        );
        assert!(found("Ett helt vanligt stycke.", "sv").is_empty());
    }
}
