//! `format=docx`: one Word document per article, built with docx-rs from the article's
//! Markdown: title, headings, paragraphs, bold and italic, and real hyperlinks (an external
//! relationship per link), so the anchor link is still a link when the file is opened.

use std::io::Cursor;

use docx_rs::{
    BreakType, Docx, Hyperlink, HyperlinkType, Paragraph, Run, RunFonts, Style, StyleType,
};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{html, markdown, source::ExportRow};

/// Word's built-in style ids, so the document's outline and navigation pane work.
fn styles(doc: Docx) -> Docx {
    let heading = |id: &str, name: &str, half_points: usize| {
        Style::new(id, StyleType::Paragraph)
            .name(name)
            .based_on("Normal")
            .next("Normal")
            .size(half_points)
            .bold()
            .q_format(true)
    };
    doc.add_style(heading("Title", "Title", 52))
        .add_style(heading("Heading1", "heading 1", 36).outline_lvl(0))
        .add_style(heading("Heading2", "heading 2", 30).outline_lvl(1))
        .add_style(heading("Heading3", "heading 3", 26).outline_lvl(2))
        .add_style(
            Style::new("Hyperlink", StyleType::Character)
                .name("Hyperlink")
                .color("0563C1")
                .underline("single"),
        )
}

fn heading_style(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "Heading1",
        HeadingLevel::H2 => "Heading2",
        _ => "Heading3",
    }
}

/// Markdown events to Word paragraphs.
#[derive(Default)]
struct Builder {
    paragraphs: Vec<Paragraph>,
    current: Option<Paragraph>,
    link: Option<Hyperlink>,
    bold: u32,
    italic: u32,
    monospace: bool,
}

impl Builder {
    fn run(&self, text: &str) -> Run {
        let mut run = Run::new().add_text(text);
        if self.bold > 0 {
            run = run.bold();
        }
        if self.italic > 0 {
            run = run.italic();
        }
        if self.monospace {
            run = run.fonts(RunFonts::new().ascii("Consolas").hi_ansi("Consolas"));
        }
        run
    }

    fn push(&mut self, run: Run) {
        if let Some(link) = self.link.take() {
            self.link = Some(link.add_run(run.style("Hyperlink")));
        } else {
            let paragraph = self.current.take().unwrap_or_default();
            self.current = Some(paragraph.add_run(run));
        }
    }

    fn text(&mut self, text: &str) {
        let run = self.run(text);
        self.push(run);
    }

    fn end_paragraph(&mut self) {
        if let Some(link) = self.link.take() {
            self.end_link(link);
        }
        if let Some(paragraph) = self.current.take() {
            self.paragraphs.push(paragraph);
        }
    }

    fn end_link(&mut self, link: Hyperlink) {
        let paragraph = self.current.take().unwrap_or_default();
        self.current = Some(paragraph.add_hyperlink(link));
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(Tag::Paragraph) => {
                // A list item's bullet may already have opened the paragraph.
                self.current.get_or_insert_with(Paragraph::new);
            }
            Event::Start(Tag::Heading { level, .. }) => {
                self.end_paragraph();
                self.current = Some(Paragraph::new().style(heading_style(level)));
            }
            Event::Start(Tag::Item) => {
                self.end_paragraph();
                self.text("• ");
            }
            Event::Start(Tag::CodeBlock(_)) => {
                self.end_paragraph();
                self.monospace = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                self.monospace = false;
                self.end_paragraph();
            }
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::BlockQuote(_),
            )
            | Event::Rule => self.end_paragraph(),
            Event::Start(Tag::Strong) => self.bold += 1,
            Event::End(TagEnd::Strong) => self.bold = self.bold.saturating_sub(1),
            Event::Start(Tag::Emphasis) => self.italic += 1,
            Event::End(TagEnd::Emphasis) => self.italic = self.italic.saturating_sub(1),
            Event::Start(Tag::Link { dest_url, .. }) => {
                self.link = Some(Hyperlink::new(dest_url.as_ref(), HyperlinkType::External));
            }
            Event::End(TagEnd::Link) => {
                if let Some(link) = self.link.take() {
                    self.end_link(link);
                }
            }
            Event::Code(code) => {
                let was = std::mem::replace(&mut self.monospace, true);
                self.text(&code);
                self.monospace = was;
            }
            Event::Text(text) if self.monospace => {
                let mut lines = text.split('\n').peekable();
                while let Some(line) = lines.next() {
                    self.text(line);
                    if lines.peek().is_some_and(|next| !next.is_empty()) {
                        self.push(Run::new().add_break(BreakType::TextWrapping));
                    }
                }
            }
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => self.text(&text),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.push(Run::new().add_break(BreakType::TextWrapping)),
            _ => {}
        }
    }
}

/// The article as a .docx file.
pub fn render(row: &ExportRow) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut builder = Builder::default();
    let body = markdown::document_body(row);
    let body = body
        .strip_prefix("# ")
        .and_then(|rest| rest.split_once('\n'))
        .map_or(body.as_str(), |(_, rest)| rest);
    builder.paragraphs.push(
        Paragraph::new()
            .style("Title")
            .add_run(Run::new().add_text(row.article.title.trim())),
    );
    for event in Parser::new_ext(body, Options::ENABLE_STRIKETHROUGH) {
        // Same rule as the HTML export: only web and mail links stay links.
        if let Event::Start(Tag::Link { dest_url, .. }) = &event
            && !html::safe_url(dest_url)
        {
            continue;
        }
        builder.event(event);
    }
    builder.end_paragraph();
    let mut doc = styles(Docx::new());
    for paragraph in builder.paragraphs {
        doc = doc.add_paragraph(paragraph);
    }
    let mut out = Cursor::new(Vec::new());
    doc.pack(&mut out)?;
    Ok(out.into_inner())
}
