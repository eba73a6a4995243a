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
    let bank = crate::banks::bank(brief.language.as_deref());
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
