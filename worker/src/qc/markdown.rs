//! Just enough Markdown structure for QC: blocks (paragraphs, headings, lists), links with
//! the 1-based word at which each starts, and the word count of the stripped text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Paragraph,
    Heading(u8),
    List,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub kind: BlockKind,
    pub words: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub text: String,
    pub url: String,
    /// 1-based position of the link text's first word in the whole body.
    pub start_word: usize,
    pub block: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub blocks: Vec<Block>,
    pub links: Vec<Link>,
    pub words: usize,
    pub plain: String,
    /// URLs outside `[text](url)` links: bare URLs, `<autolinks>`, reference definitions. They
    /// render as links in most Markdown flavours but escape the link checks.
    pub stray_urls: Vec<String>,
}

impl Analysis {
    pub fn paragraphs(&self) -> impl Iterator<Item = (usize, &Block)> {
        self.blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| !matches!(b.kind, BlockKind::Heading(_)))
    }
}

fn heading_level(line: &str) -> Option<u8> {
    let t = line.trim_start();
    let hashes = t.bytes().take_while(|&b| b == b'#').count();
    ((1..=6).contains(&hashes) && t[hashes..].starts_with(' ')).then_some(hashes as u8)
}

pub fn list_marker_len(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start().len();
    let t = line.trim_start();
    let marker = if t.starts_with("- ") || t.starts_with("* ") || t.starts_with("+ ") {
        1
    } else {
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let rest = &t[digits..];
        if digits > 0 && digits < 4 && (rest.starts_with(". ") || rest.starts_with(") ")) {
            digits + 1
        } else {
            return None;
        }
    };
    Some(indent + marker + 1)
}

pub fn is_word(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

/// Finds `[text](url)` links in one line: (byte start, byte end, text, url).
pub fn find_links(line: &str) -> Vec<(usize, usize, String, String)> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'[' || (i > 0 && bytes[i - 1] == b'!') {
            i += 1;
            continue;
        }
        // Matching ']' (anchors may hold brackets), then '(' and a balanced ')'.
        let mut depth = 0;
        let mut close = None;
        for (j, &b) in bytes.iter().enumerate().skip(i) {
            match b {
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            // An unclosed `[` is just text; links after it still count.
            i += 1;
            continue;
        };
        if bytes.get(close + 1) != Some(&b'(') {
            i += 1;
            continue;
        }
        let mut depth = 0;
        let mut end = None;
        for (j, &b) in bytes.iter().enumerate().skip(close + 1) {
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(j);
                        break;
                    }
                }
                b' ' if depth == 1 => {}
                _ => {}
            }
        }
        let Some(end) = end else {
            i += 1;
            continue;
        };
        let text = line[i + 1..close].to_owned();
        let url = line[close + 2..end].trim().to_owned();
        found.push((i, end + 1, text, url));
        i = end + 1;
    }
    found
}

fn strip_inline(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '*' | '_' | '`'))
        .collect()
}

pub fn analyze(markdown: &str) -> Analysis {
    let mut analysis = Analysis::default();
    let mut current: Option<Block> = None;
    let flush = |current: &mut Option<Block>, analysis: &mut Analysis| {
        if let Some(block) = current.take() {
            analysis.blocks.push(block);
        }
    };
    for raw in markdown.lines() {
        if raw.trim().is_empty() {
            flush(&mut current, &mut analysis);
            continue;
        }
        let level = heading_level(raw);
        let mut line = raw.trim();
        if let Some(level) = level {
            flush(&mut current, &mut analysis);
            current = Some(Block {
                kind: BlockKind::Heading(level),
                words: 0,
            });
            line = line.trim_start_matches('#').trim();
        } else if let Some(skip) = list_marker_len(raw) {
            let block = current.get_or_insert(Block {
                kind: BlockKind::List,
                words: 0,
            });
            if matches!(block.kind, BlockKind::Heading(_)) {
                flush(&mut current, &mut analysis);
                current = Some(Block {
                    kind: BlockKind::List,
                    words: 0,
                });
            } else {
                block.kind = BlockKind::List;
            }
            line = raw[skip.min(raw.len())..].trim();
        } else if current
            .as_ref()
            .is_some_and(|b| matches!(b.kind, BlockKind::Heading(_)))
        {
            flush(&mut current, &mut analysis);
        }
        let block_index = analysis.blocks.len();
        let block = current.get_or_insert(Block {
            kind: BlockKind::Paragraph,
            words: 0,
        });
        let mut cursor = 0;
        let mut plain_line = String::new();
        for (start, end, text, url) in find_links(line) {
            plain_line.push_str(&strip_inline(&line[cursor..start]));
            plain_line.push(' ');
            let before = analysis.words + count_words(&plain_line);
            analysis.links.push(Link {
                text: text.clone(),
                url,
                start_word: before + 1,
                block: block_index,
            });
            plain_line.push_str(&strip_inline(&text));
            plain_line.push(' ');
            cursor = end;
        }
        plain_line.push_str(&strip_inline(&line[cursor..]));
        let n = count_words(&plain_line);
        block.words += n;
        analysis.words += n;
        analysis.stray_urls.extend(
            plain_line
                .split_whitespace()
                .filter(|t| {
                    t.contains("http://") || t.contains("https://") || t.starts_with("www.")
                })
                .map(|t| {
                    t.trim_matches(|c: char| "<>()[].,;:!?\"'".contains(c))
                        .to_owned()
                }),
        );
        analysis.plain.push_str(&plain_line);
        analysis.plain.push('\n');
    }
    flush(&mut current, &mut analysis);
    analysis
}

pub fn count_words(text: &str) -> usize {
    text.split_whitespace().filter(|w| is_word(w)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_links_and_positions() {
        let md = "## Heading here\n\nOne two [three four](https://a.se/x_(y)) five.\n\n- item one\n- item two\n\nLast *para* [x](https://b.se/).";
        let a = analyze(md);
        let kinds: Vec<_> = a.blocks.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            [
                BlockKind::Heading(2),
                BlockKind::Paragraph,
                BlockKind::List,
                BlockKind::Paragraph
            ]
        );
        assert_eq!(a.links[0].url, "https://a.se/x_(y)");
        assert_eq!(
            a.links[0].start_word, 5,
            "after the four words Heading here One two"
        );
        assert_eq!(a.links[0].block, 1);
        assert_eq!(a.links[1].start_word, 14);
        assert_eq!(a.words, 14);
        assert!(a.stray_urls.is_empty());
    }

    #[test]
    fn an_unclosed_bracket_hides_nothing_and_stray_urls_are_found() {
        let a = analyze(
            "Prices [from 2023 per [study](https://x.org/a) and <https://y.org/b>.\n\n[1]: https://z.org/c",
        );
        assert_eq!(a.links.len(), 1);
        assert_eq!(a.links[0].url, "https://x.org/a");
        assert_eq!(a.stray_urls, ["https://y.org/b", "https://z.org/c"]);
    }
}
