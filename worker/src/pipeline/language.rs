//! Which language an article is written in: the link's own, else the publisher's TLD,
//! else English. (#3 adds the target page's language as a further fallback.)

pub fn resolve(explicit: Option<&str>, publisher_domain: &str) -> String {
    if let Some(language) = explicit {
        return language.to_owned();
    }
    let tld = publisher_domain.rsplit('.').next().unwrap_or_default();
    let from_tld = match tld {
        "se" => "sv",
        "de" | "at" => "de",
        "no" => "nb",
        "dk" => "da",
        "fi" => "fi",
        "fr" => "fr",
        "es" => "es",
        "it" => "it",
        "nl" => "nl",
        "pl" => "pl",
        "pt" | "br" => "pt",
        "is" => "is",
        "ee" => "et",
        "cz" => "cs",
        _ => "en",
    };
    from_tld.to_owned()
}

pub fn name(code: &str) -> &'static str {
    match code {
        "sv" => "Swedish",
        "de" => "German",
        "nb" | "no" => "Norwegian (Bokmål)",
        "nn" => "Norwegian (Nynorsk)",
        "da" => "Danish",
        "fi" => "Finnish",
        "fr" => "French",
        "es" => "Spanish",
        "it" => "Italian",
        "nl" => "Dutch",
        "pl" => "Polish",
        "pt" => "Portuguese",
        "is" => "Icelandic",
        "et" => "Estonian",
        "cs" => "Czech",
        _ => "English",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_wins_then_tld_then_english() {
        assert_eq!(resolve(Some("de"), "blogg.se"), "de");
        assert_eq!(resolve(None, "blogg.se"), "sv");
        assert_eq!(resolve(None, "blog.com"), "en");
    }
}
