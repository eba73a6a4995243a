//! Which language an article is written in: the link's own, else the publisher's TLD, else
//! the target page's declared language, else the batch default, else English.

pub fn resolve(
    explicit: Option<&str>,
    publisher_domain: &str,
    target_page: Option<&str>,
    batch_default: Option<&str>,
) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| from_tld(publisher_domain).map(str::to_owned))
        .or_else(|| {
            target_page
                .and_then(|l| bacowr_shared::domain::Language::parse(l).ok())
                .map(|l| l.as_str().to_owned())
        })
        .or_else(|| batch_default.map(str::to_owned))
        .unwrap_or_else(|| "en".to_owned())
}

/// Country TLDs whose sites write in one main language. `.com`, `.org` and friends say nothing.
fn from_tld(publisher_domain: &str) -> Option<&'static str> {
    let tld = publisher_domain.rsplit('.').next().unwrap_or_default();
    Some(match tld {
        "se" => "sv",
        "uk" | "ie" | "au" | "nz" => "en",
        "de" | "at" => "de",
        "no" => "no",
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
        _ => return None,
    })
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
    fn explicit_then_tld_then_page_then_batch_then_english() {
        assert_eq!(
            resolve(Some("de"), "blogg.se", Some("fi"), Some("da")),
            "de"
        );
        assert_eq!(resolve(None, "blogg.se", Some("fi"), Some("da")), "sv");
        assert_eq!(resolve(None, "news.co.uk", None, None), "en");
        assert_eq!(resolve(None, "blog.com", Some("fi-FI"), Some("da")), "fi");
        assert_eq!(resolve(None, "blog.com", Some("xx"), Some("da")), "da");
        assert_eq!(resolve(None, "blog.com", None, None), "en");
    }
}
