//! The article plan: sections with word budgets, the thesis, where the anchor goes and which
//! sources may back the article up. Budgets scale with the profile's word range.

use bacowr_shared::qc::QcThresholds;

/// Default sections and budgets (825 words in all).
const SECTIONS: &[(&str, u32, &str)] = &[
    (
        "hook",
        125,
        "open with a concrete situation the publisher's readers recognise",
    ),
    ("establish", 140, "set out the facts; cite trust source 1"),
    (
        "deepen",
        135,
        "go one level deeper; cite trust source 2 if there is one",
    ),
    (
        "ANCHOR",
        155,
        "the anchor section: the anchor link sits naturally in this paragraph",
    ),
    ("pivot", 145, "weigh alternatives and trade-offs"),
    (
        "resolve",
        125,
        "close with practical advice, no summary phrases",
    ),
];
const DEFAULT_TOTAL: u32 = 825;

pub struct Section {
    pub name: &'static str,
    pub words: u32,
    pub note: &'static str,
}

pub struct Blueprint {
    pub thesis: String,
    pub sections: Vec<Section>,
}

impl Blueprint {
    pub fn new(thresholds: &QcThresholds, thesis: String) -> Self {
        let target = (thresholds.min_words + thresholds.max_words) / 2;
        let scale = f64::from(target) / f64::from(DEFAULT_TOTAL);
        let sections = SECTIONS
            .iter()
            .map(|&(name, words, note)| Section {
                name,
                words: (f64::from(words) * scale).round() as u32,
                note,
            })
            .collect();
        Self { thesis, sections }
    }

    pub fn total_words(&self) -> u32 {
        self.sections.iter().map(|s| s.words).sum()
    }

    /// Where the anchor section starts, in words from the top.
    pub fn anchor_offset(&self) -> u32 {
        self.sections
            .iter()
            .take_while(|s| s.name != "ANCHOR")
            .map(|s| s.words)
            .sum()
    }

    pub fn render(&self) -> String {
        let mut out = format!("Thesis: {}\n", self.thesis);
        for (i, s) in self.sections.iter().enumerate() {
            out.push_str(&format!(
                "{}. {} (~{} words): {}\n",
                i + 1,
                s.name,
                s.words,
                s.note
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_plan_is_825_words_with_the_anchor_inside_the_window() {
        let t = bacowr_shared::qc::profile("standard").unwrap();
        let plan = Blueprint::new(t, "x".into());
        assert!(
            (820..=830).contains(&plan.total_words()),
            "{}",
            plan.total_words()
        );
        let at = plan.anchor_offset();
        assert!(
            (250..=550).contains(&at),
            "anchor section starts at word {at}"
        );
    }
}
