//! Which language an article is written in, and how the prompt names it. In order: the
//! link's own language, else the publisher's country TLD, else the publisher's home page
//! (`<html lang>`, then detection on its text) for TLDs that say nothing (.com, .net, .org,
//! .io …), else the target page's declared language, else the batch default, else English.

use bacowr_shared::domain::Language;

use crate::{context::PageSummary, qc::language::detect};

/// What the job knows that can tell the article's language.
pub struct Signals<'a> {
    pub explicit: Option<&'a str>,
    pub publisher_domain: &'a str,
    pub publisher_page: Option<&'a PageSummary>,
    pub target_page: Option<&'a PageSummary>,
    pub batch_default: Option<&'a str>,
}

fn known(code: &str) -> Option<String> {
    Language::parse(code).ok().map(|l| l.as_str().to_owned())
}

/// The language a page is written in: its declared `<html lang>`, else what its text reads as
/// (when the detector is sure).
fn page_language(page: &PageSummary) -> Option<String> {
    page.language.as_deref().and_then(known).or_else(|| {
        let text = [page.title.as_deref(), page.description.as_deref()]
            .into_iter()
            .flatten()
            .chain(std::iter::once(page.excerpt.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        let d = detect(&text)?;
        d.reliable.then(|| known(d.code)).flatten()
    })
}

pub fn resolve(s: &Signals<'_>) -> String {
    s.explicit
        .and_then(known)
        .or_else(|| from_tld(s.publisher_domain).map(str::to_owned))
        .or_else(|| s.publisher_page.and_then(page_language))
        .or_else(|| {
            s.target_page
                .and_then(|p| p.language.as_deref())
                .and_then(known)
        })
        .or_else(|| s.batch_default.and_then(known))
        .unwrap_or_else(|| "en".to_owned())
}

/// Country TLDs whose sites write in one main language. `.com`, `.org` and friends say nothing,
/// nor do countries of several languages (.be, .ch, .ca …).
fn from_tld(publisher_domain: &str) -> Option<&'static str> {
    let tld = publisher_domain
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    Some(match tld.as_str() {
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
        "sk" => "sk",
        "hu" => "hu",
        "ro" => "ro",
        "bg" => "bg",
        "gr" => "el",
        "lv" => "lv",
        "lt" => "lt",
        "si" => "sl",
        "hr" => "hr",
        "rs" => "sr",
        "ua" => "uk",
        "ru" => "ru",
        "tr" => "tr",
        "cat" => "ca",
        "mt" => "mt",
        "jp" => "ja",
        "cn" => "zh",
        "kr" => "ko",
        "il" => "he",
        "id" => "id",
        "my" => "ms",
        "th" => "th",
        "vn" => "vi",
        _ => return None,
    })
}

/// Every accepted language code: its English name and its own name, as the prompt says them.
const NAMES: &[(&str, &str, &str)] = &[
    ("sv", "Swedish", "svenska"),
    ("en", "English", "English"),
    ("de", "German", "Deutsch"),
    ("da", "Danish", "dansk"),
    ("nb", "Norwegian (Bokmål)", "norsk bokmål"),
    ("no", "Norwegian (Bokmål)", "norsk bokmål"),
    ("nn", "Norwegian (Nynorsk)", "norsk nynorsk"),
    ("fi", "Finnish", "suomi"),
    ("is", "Icelandic", "íslenska"),
    ("nl", "Dutch", "Nederlands"),
    ("fr", "French", "français"),
    ("es", "Spanish", "español"),
    ("it", "Italian", "italiano"),
    ("pt", "Portuguese", "português"),
    ("pl", "Polish", "polski"),
    ("cs", "Czech", "čeština"),
    ("sk", "Slovak", "slovenčina"),
    ("hu", "Hungarian", "magyar"),
    ("ro", "Romanian", "română"),
    ("bg", "Bulgarian", "български"),
    ("el", "Greek", "Ελληνικά"),
    ("et", "Estonian", "eesti"),
    ("lv", "Latvian", "latviešu"),
    ("lt", "Lithuanian", "lietuvių"),
    ("sl", "Slovenian", "slovenščina"),
    ("hr", "Croatian", "hrvatski"),
    ("sr", "Serbian", "српски"),
    ("uk", "Ukrainian", "українська"),
    ("ru", "Russian", "русский"),
    ("tr", "Turkish", "Türkçe"),
    ("ca", "Catalan", "català"),
    ("ga", "Irish", "Gaeilge"),
    ("mt", "Maltese", "Malti"),
    ("ja", "Japanese", "日本語"),
    ("zh", "Chinese (Simplified)", "简体中文"),
    ("ko", "Korean", "한국어"),
    ("ar", "Arabic", "العربية"),
    ("he", "Hebrew", "עברית"),
    ("hi", "Hindi", "हिन्दी"),
    ("id", "Indonesian", "Bahasa Indonesia"),
    ("ms", "Malay", "Bahasa Melayu"),
    ("th", "Thai", "ไทย"),
    ("vi", "Vietnamese", "Tiếng Việt"),
];

/// How the prompt names the language: `Japanese (日本語)`, or just `English`.
pub fn name(code: &str) -> String {
    match NAMES.iter().find(|(c, _, _)| *c == code) {
        Some((_, english, own)) if english == own => (*english).to_owned(),
        Some((_, english, own)) => format!("{english} ({own})"),
        None => "English".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals<'a>(explicit: Option<&'a str>, domain: &'a str) -> Signals<'a> {
        Signals {
            explicit,
            publisher_domain: domain,
            publisher_page: None,
            target_page: None,
            batch_default: None,
        }
    }

    #[test]
    fn every_accepted_code_has_a_name() {
        for code in Language::known() {
            assert!(
                NAMES.iter().any(|(c, _, _)| c == code),
                "language {code} is accepted but the prompt has no name for it"
            );
        }
    }

    #[test]
    fn explicit_then_tld_then_publisher_page_then_target_then_batch_then_english() {
        let page = |lang: Option<&str>, excerpt: &str| PageSummary {
            language: lang.map(str::to_owned),
            excerpt: excerpt.to_owned(),
            ..PageSummary::default()
        };
        assert_eq!(resolve(&signals(Some("de"), "blogg.se")), "de");
        assert_eq!(resolve(&signals(None, "blogg.se")), "sv");
        assert_eq!(resolve(&signals(None, "news.co.uk")), "en");
        assert_eq!(resolve(&signals(None, "haber.com.tr")), "tr");
        let ja = page(Some("ja-JP"), "");
        let fi = page(Some("fi-FI"), "");
        let s = Signals {
            publisher_page: Some(&ja),
            target_page: Some(&fi),
            ..signals(None, "blog.com")
        };
        assert_eq!(
            resolve(&s),
            "ja",
            "the publisher's page before the target's"
        );
        let ru = page(
            None,
            "Москва является столицей России и крупнейшим городом страны. В городе \
             много музеев, театров и парков, которые ежегодно посещают миллионы туристов.",
        );
        let s = Signals {
            publisher_page: Some(&ru),
            ..signals(None, "news.net")
        };
        assert_eq!(resolve(&s), "ru", "detected on the publisher's text");
        let s = Signals {
            target_page: Some(&fi),
            ..signals(None, "blog.com")
        };
        assert_eq!(resolve(&s), "fi");
        let s = Signals {
            batch_default: Some("da"),
            ..signals(None, "blog.com")
        };
        assert_eq!(resolve(&s), "da");
        assert_eq!(resolve(&signals(None, "blog.com")), "en");
        assert_eq!(name("ja"), "Japanese (日本語)");
        assert_eq!(name("en"), "English");
    }
}
