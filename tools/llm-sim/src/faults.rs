//! Drafts that break one chosen QC rule, so BACOWR's autofix → regenerate → needs_review path
//! can be tested end to end. With `once`, the simulator complies as soon as the prompt carries
//! QC feedback on an earlier draft, as a well-behaved model would.

use std::str::FromStr;

use crate::article::Draft;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// About 500 words: not autofixable.
    Short,
    /// The anchor link left out.
    NoAnchor,
    /// The anchor link's URL mangled (http, www, trailing slash): autofixable.
    MangledAnchor,
    /// The anchor link twice: autofixable.
    DuplicateAnchor,
    /// A bulleted list: autofixable.
    List,
    /// The anchor link in a heading: not autofixable.
    AnchorInHeading,
    /// A banned filler phrase: not autofixable.
    BannedPhrase,
    /// No trust links.
    NoTrustLinks,
    /// A truncated, unparseable answer.
    BadJson,
}

impl FromStr for Violation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "short" => Self::Short,
            "no_anchor" => Self::NoAnchor,
            "mangled_anchor" => Self::MangledAnchor,
            "duplicate_anchor" => Self::DuplicateAnchor,
            "list" => Self::List,
            "anchor_in_heading" => Self::AnchorInHeading,
            "banned_phrase" => Self::BannedPhrase,
            "no_trust_links" => Self::NoTrustLinks,
            "bad_json" => Self::BadJson,
            other => return Err(format!("unknown violation {other:?}")),
        })
    }
}

fn anchor_link(draft: &Draft, anchor: &str, url: &str) -> Option<(usize, String)> {
    let link = format!("[{anchor}]({url})");
    draft
        .paragraphs
        .iter()
        .position(|p| p.contains(&link))
        .map(|i| (i, link))
}

/// Applies `violation` to `draft`; `None` means the answer is not an article at all.
pub fn apply(mut draft: Draft, violation: Violation, anchor: &str, url: &str) -> Option<Draft> {
    match violation {
        Violation::Short => {
            let mut kept = 0;
            for p in &mut draft.paragraphs {
                let words: Vec<&str> = p.split_whitespace().collect();
                let room = 500usize.saturating_sub(kept).min(words.len());
                if room < words.len() && !p.contains(&format!("]({url})")) {
                    *p = format!("{}.", words[..room.max(8)].join(" ").trim_end_matches('.'));
                }
                kept += p.split_whitespace().count();
            }
        }
        Violation::NoAnchor => {
            if let Some((i, link)) = anchor_link(&draft, anchor, url) {
                draft.paragraphs[i] = draft.paragraphs[i].replace(&link, anchor);
            }
        }
        Violation::MangledAnchor => {
            if let Some((i, link)) = anchor_link(&draft, anchor, url) {
                let mangled = url.replacen("https://", "http://www.", 1);
                let mangled = format!("[{anchor}]({}/)", mangled.trim_end_matches('/'));
                draft.paragraphs[i] = draft.paragraphs[i].replace(&link, &mangled);
            }
        }
        Violation::DuplicateAnchor => {
            if let Some((_, link)) = anchor_link(&draft, anchor, url) {
                let last = draft.paragraphs.len() - 2;
                draft.paragraphs[last].push_str(&format!(" See {link} again."));
            }
        }
        Violation::List => {
            draft.paragraphs.insert(
                4.min(draft.paragraphs.len()),
                "- compare prices\n- read reviews\n- ask around".into(),
            );
        }
        Violation::AnchorInHeading => {
            if let Some((i, link)) = anchor_link(&draft, anchor, url) {
                draft.paragraphs[i] = draft.paragraphs[i].replace(&link, anchor);
                draft.paragraphs.insert(i, format!("## {link}"));
            }
        }
        Violation::BannedPhrase => {
            draft.paragraphs[0] = format!("In today's fast-paced world, {}", draft.paragraphs[0]);
        }
        Violation::NoTrustLinks => {
            for url in std::mem::take(&mut draft.trust_links) {
                let tail = format!("]({url})");
                for p in &mut draft.paragraphs {
                    while let Some(end) = p.find(&tail) {
                        let Some(start) = p[..end].rfind('[') else {
                            break;
                        };
                        let text = p[start + 1..end].to_owned();
                        p.replace_range(start..end + tail.len(), &text);
                    }
                }
            }
        }
        Violation::BadJson => return None,
    }
    Some(draft)
}
