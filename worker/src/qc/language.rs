//! Which language an article is written in, by whatlang, as an ISO 639-1 code.

use whatlang::Lang;

fn iso1(lang: Lang) -> &'static str {
    match lang {
        Lang::Swe => "sv",
        Lang::Eng => "en",
        Lang::Deu => "de",
        Lang::Dan => "da",
        Lang::Nob => "nb",
        Lang::Fin => "fi",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Ita => "it",
        Lang::Nld => "nl",
        Lang::Pol => "pl",
        Lang::Por => "pt",
        Lang::Est => "et",
        Lang::Ces => "cs",
        Lang::Slk => "sk",
        Lang::Hun => "hu",
        Lang::Ron => "ro",
        Lang::Bul => "bg",
        Lang::Ell => "el",
        Lang::Lav => "lv",
        Lang::Lit => "lt",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Ukr => "uk",
        Lang::Rus => "ru",
        Lang::Tur => "tr",
        Lang::Cat => "ca",
        Lang::Jpn => "ja",
        Lang::Cmn => "zh",
        Lang::Kor => "ko",
        Lang::Ara => "ar",
        Lang::Heb => "he",
        Lang::Hin => "hi",
        Lang::Ind => "id",
        Lang::Tha => "th",
        Lang::Vie => "vi",
        _ => "other",
    }
}

/// `no`, `nb` and `nn` are one written language for our purposes: the detector knows only
/// Bokmål, and reads Nynorsk as it.
pub fn normalise(code: &str) -> &str {
    match code {
        "no" | "nn" => "nb",
        other => other,
    }
}

/// Accepted languages the detector cannot recognise: the language check cannot judge an
/// article in them, and says so instead of failing it.
pub const UNDETECTABLE: &[&str] = &["is", "ga", "mt", "ms"];

pub struct Detected {
    pub code: &'static str,
    pub confidence: f64,
    pub reliable: bool,
}

pub fn detect(text: &str) -> Option<Detected> {
    let info = whatlang::detect(text)?;
    Some(Detected {
        code: iso1(info.lang()),
        confidence: info.confidence(),
        reliable: info.is_reliable(),
    })
}
