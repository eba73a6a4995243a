//! Deterministic, plausible articles: the same prompt always gives the same text, so tests
//! and benchmarks are repeatable.

/// What the simulator reads out of a prompt. Real providers read the whole prompt; the
/// simulator looks for the labelled lines the worker's prompt carries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Brief {
    pub anchor_text: Option<String>,
    pub target_url: Option<String>,
    pub language: Option<String>,
    pub publisher: Option<String>,
    /// `Trust link candidate: URL` lines: sources the writer may cite.
    pub trust_candidates: Vec<String>,
    /// The prompt carries QC feedback on an earlier draft (`Failed checks:`).
    pub has_feedback: bool,
}

impl Brief {
    pub fn from_prompt(prompt: &str) -> Self {
        let mut brief = Brief {
            has_feedback: prompt.contains("Failed checks:"),
            ..Brief::default()
        };
        for line in prompt.lines() {
            let line = line.trim().trim_start_matches(['-', '*', ' ']);
            let Some((label, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_owned();
            if value.is_empty() {
                continue;
            }
            match label.trim().to_ascii_lowercase().as_str() {
                "anchor text" | "anchor" => brief.anchor_text = Some(value),
                "target url" | "target" => brief.target_url = Some(value),
                "language" => brief.language = Some(value.to_ascii_lowercase()),
                "publisher" | "publisher domain" => brief.publisher = Some(value),
                "trust link candidate" => brief.trust_candidates.push(value),
                _ => {}
            }
        }
        brief
    }
}

struct Bank {
    titles: &'static [&'static str],
    sentences: &'static [&'static str],
    link_sentence: &'static str,
    trust_sentence: &'static str,
    trust_text: &'static str,
    meta: &'static str,
}

const EN: Bank = Bank {
    titles: &[
        "What {topic} readers should know this season",
        "A practical guide for {topic} readers",
        "How to choose wisely: notes from {topic}",
    ],
    sentences: &[
        "Many readers start with a simple question and end up comparing far more options than they expected.",
        "The best decisions tend to come from a clear picture of what you actually need day to day.",
        "Prices vary a great deal, so it pays to look beyond the first offer you come across.",
        "Experienced buyers often say that quality shows itself over years rather than weeks.",
        "It is worth reading the small print, since service terms differ more than the headlines suggest.",
        "Local conditions matter as well, and what works in one region may not suit another.",
        "A short checklist helps keep the comparison honest and saves time in the long run.",
        "Independent reviews give a useful counterweight to the claims made in advertising.",
        "Small details, such as delivery times and return policies, can tip the balance.",
        "Planning ahead usually means better availability and fewer compromises.",
        "Sustainability has become a deciding factor for a growing share of consumers.",
        "Talking to people who have already made the same choice is often the quickest way to learn.",
    ],
    link_sentence: "For a closer look at the options, {link} is a good place to start.",
    trust_sentence: "Research summarised in {link} points the same way.",
    trust_text: "a recent overview",
    meta: "A practical guide for {topic} readers: what to compare, what to ask and how to choose well.",
};

const SV: Bank = Bank {
    titles: &[
        "Det här bör läsare av {topic} veta i år",
        "En praktisk guide för läsare av {topic}",
        "Så väljer du rätt: tankar från {topic}",
    ],
    sentences: &[
        "Många börjar med en enkel fråga och slutar med att jämföra betydligt fler alternativ än väntat.",
        "De bästa besluten bygger oftast på en tydlig bild av vad man faktiskt behöver i vardagen.",
        "Priserna skiljer sig mycket åt, så det lönar sig att titta längre än till det första erbjudandet.",
        "Erfarna köpare brukar säga att kvalitet visar sig över flera år snarare än veckor.",
        "Det är värt att läsa det finstilta, eftersom villkoren skiljer sig mer än rubrikerna antyder.",
        "Lokala förutsättningar spelar också roll, och det som fungerar på ett ställe passar inte alltid ett annat.",
        "En kort checklista håller jämförelsen ärlig och sparar tid i längden.",
        "Oberoende recensioner är en bra motvikt till det som sägs i reklamen.",
        "Små detaljer som leveranstider och returvillkor kan avgöra valet.",
        "Den som planerar i förväg får oftast bättre tillgång och färre kompromisser.",
        "Hållbarhet har blivit en avgörande faktor för allt fler konsumenter.",
        "Att prata med någon som redan gjort samma val är ofta det snabbaste sättet att lära sig.",
    ],
    link_sentence: "Vill du fördjupa dig i alternativen är {link} ett bra ställe att börja på.",
    trust_sentence: "Det bekräftas också av {link} som många hänvisar till.",
    trust_text: "en aktuell genomgång",
    meta: "En praktisk guide för läsare av {topic}: vad du ska jämföra, fråga och välja.",
};

const DE: Bank = Bank {
    titles: &[
        "Was Leser von {topic} in dieser Saison wissen sollten",
        "Ein praktischer Leitfaden für Leser von {topic}",
        "Klug entscheiden: Notizen von {topic}",
    ],
    sentences: &[
        "Viele Leser beginnen mit einer einfachen Frage und vergleichen am Ende weit mehr Angebote als erwartet.",
        "Die besten Entscheidungen beruhen meist auf einem klaren Bild dessen, was man im Alltag wirklich braucht.",
        "Die Preise unterscheiden sich stark, daher lohnt sich der Blick über das erste Angebot hinaus.",
        "Erfahrene Käufer sagen oft, dass sich Qualität über Jahre und nicht über Wochen zeigt.",
        "Es lohnt sich, das Kleingedruckte zu lesen, denn die Bedingungen unterscheiden sich mehr als gedacht.",
        "Auch die örtlichen Gegebenheiten spielen eine Rolle, und nicht alles passt überall.",
        "Eine kurze Checkliste hält den Vergleich ehrlich und spart auf Dauer Zeit.",
        "Unabhängige Testberichte sind ein nützliches Gegengewicht zu den Versprechen der Werbung.",
        "Kleine Details wie Lieferzeiten und Rückgaberegeln können den Ausschlag geben.",
        "Wer vorausplant, hat meist eine bessere Auswahl und muss weniger Kompromisse eingehen.",
        "Nachhaltigkeit ist für immer mehr Verbraucher ein entscheidender Faktor geworden.",
        "Mit Menschen zu sprechen, die dieselbe Wahl schon getroffen haben, ist oft der schnellste Weg.",
    ],
    link_sentence: "Wer sich die Möglichkeiten genauer ansehen möchte, findet bei {link} einen guten Einstieg.",
    trust_sentence: "Das bestätigt auch {link}, auf die sich viele berufen.",
    trust_text: "eine aktuelle Übersicht",
    meta: "Ein praktischer Leitfaden für Leser von {topic}: was man vergleichen und wie man wählen sollte.",
};

fn bank(language: Option<&str>) -> &'static Bank {
    match language {
        Some("sv") => &SV,
        Some("de") => &DE,
        _ => &EN,
    }
}

/// FNV-1a: stable across runs and platforms, unlike std's randomly seeded hasher.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// An article before it is rendered as Markdown or JSON.
#[derive(Debug, Clone)]
pub struct Draft {
    pub title: String,
    pub meta_description: String,
    pub paragraphs: Vec<String>,
    pub trust_links: Vec<String>,
    pub language: Option<String>,
}

const PARAGRAPHS: usize = 7;

/// About `target_words` words in seven paragraphs: up to two trust links (from the brief's
/// candidates) in the second paragraph, the anchor link once at the end of the third, so a
/// well-briefed draft passes BACOWR's standard QC profile.
pub fn compose(brief: &Brief, seed_text: &str, target_words: usize) -> Draft {
    let bank = bank(brief.language.as_deref());
    let mut rng = Rng(fnv(seed_text) | 1);
    let topic = brief.publisher.as_deref().unwrap_or("our site");
    let title = bank.titles[rng.next(bank.titles.len())].replace("{topic}", topic);

    // Fill a global word budget, cut into paragraphs at even shares of it.
    let mut paragraphs = vec![String::new(); PARAGRAPHS];
    let mut words = 0;
    loop {
        let sentence = bank.sentences[rng.next(bank.sentences.len())];
        let n = sentence.split_whitespace().count();
        if words + n > target_words {
            break;
        }
        let p = (words * PARAGRAPHS / target_words.max(1)).min(PARAGRAPHS - 1);
        if !paragraphs[p].is_empty() {
            paragraphs[p].push(' ');
        }
        paragraphs[p].push_str(sentence);
        words += n;
    }
    paragraphs.retain(|p| !p.is_empty());
    let trust_links: Vec<String> = brief.trust_candidates.iter().take(2).cloned().collect();
    if paragraphs.len() > 2 {
        for url in &trust_links {
            let link = format!("[{}]({url})", bank.trust_text);
            paragraphs[1].push(' ');
            paragraphs[1].push_str(&bank.trust_sentence.replace("{link}", &link));
        }
    }
    if let (Some(anchor), Some(url)) = (&brief.anchor_text, &brief.target_url) {
        let link = format!("[{anchor}]({url})");
        let at = 2.min(paragraphs.len().saturating_sub(1));
        paragraphs[at].push(' ');
        paragraphs[at].push_str(&bank.link_sentence.replace("{link}", &link));
    }
    Draft {
        meta_description: bank.meta.replace("{topic}", topic),
        title,
        paragraphs,
        trust_links,
        language: brief.language.clone(),
    }
}

impl Draft {
    pub fn body(&self) -> String {
        self.paragraphs.join("\n\n")
    }

    /// `# Title` and the body: what a model answers without a response format.
    pub fn markdown(&self) -> String {
        format!("# {}\n\n{}\n", self.title, self.body())
    }

    /// The structured answer BACOWR asks for with a JSON response format.
    pub fn json(&self) -> String {
        serde_json::json!({
            "title": self.title,
            "meta_description": self.meta_description,
            "body_markdown": self.body(),
            "trust_links": self.trust_links.iter().map(|u| serde_json::json!({"url": u})).collect::<Vec<_>>(),
        })
        .to_string()
    }
}

/// A Markdown article (see [`compose`]).
pub fn write(brief: &Brief, seed_text: &str, target_words: usize) -> String {
    compose(brief, seed_text, target_words).markdown()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_brief_and_links_once() {
        let prompt = "Write it.\nPublisher: bloggen.se\nTarget URL: https://client.se/cyklar\nAnchor text: bästa cyklarna\nLanguage: sv\n";
        let brief = Brief::from_prompt(prompt);
        assert_eq!(brief.language.as_deref(), Some("sv"));
        let article = write(&brief, prompt, 800);
        assert_eq!(
            article
                .matches("[bästa cyklarna](https://client.se/cyklar)")
                .count(),
            1
        );
        assert!(article.starts_with("# "));
        let words = article.split_whitespace().count();
        assert!((790..870).contains(&words), "{words} words");
        assert_eq!(article, write(&brief, prompt, 800), "deterministic");
    }
}
