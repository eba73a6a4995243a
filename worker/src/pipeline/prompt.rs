//! The article brief sent to the provider. The labelled lines (`Publisher:`, `Target URL:`,
//! `Anchor text:`, `Language:`) are part of the contract with llm-sim, which reads them.

use crate::provider::GenerationRequest;

pub struct Brief<'a> {
    pub publisher_domain: &'a str,
    pub target_url: &'a str,
    pub anchor_text: &'a str,
    pub language: &'a str,
}

pub fn build(brief: &Brief<'_>, max_output_tokens: u32, temperature: f32) -> GenerationRequest {
    let language_name = super::language::name(brief.language);
    let system = format!(
        "You are an experienced editorial writer for {publisher}. You write natural, useful \
         articles in {language_name} that fit the publisher's audience. Answer with the article \
         only, in Markdown: the first line is the title as `# Title`, then plain paragraphs \
         separated by blank lines. No lists, no more than one subheading.",
        publisher = brief.publisher_domain,
    );
    let user = format!(
        "Write an article of 750-900 words for the publisher below.\n\
         It must contain the Markdown link [{anchor}]({url}) exactly once, inside a paragraph \
         in the middle of the article (not in the first or last paragraph, never in a heading).\n\n\
         Publisher: {publisher}\n\
         Target URL: {url}\n\
         Anchor text: {anchor}\n\
         Language: {language}\n",
        anchor = brief.anchor_text,
        url = brief.target_url,
        publisher = brief.publisher_domain,
        language = brief.language,
    );
    GenerationRequest {
        system,
        user,
        max_output_tokens,
        temperature,
    }
}
