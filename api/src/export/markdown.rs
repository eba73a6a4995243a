//! `format=markdown`: one `.md` file per article, a YAML front matter block (title, meta
//! description, publisher, target, anchor) and then the article as written, title as `# `.

use super::source::ExportRow;

/// A YAML scalar that can hold anything: a JSON string is a valid YAML double-quoted scalar,
/// so quotes, colons, `#` and newlines in a title can't break the front matter.
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Text that came from users (anchors, names) or a model, made inert for Markdown renderers,
/// which pass raw HTML through: `<` as `&lt;` means no tag survives, and every renderer shows
/// the entity as `<`. (`>` alone opens nothing and marks block quotes, so it stays.)
fn inert(text: &str) -> String {
    text.replace('<', "&lt;")
}

/// The body with the title as its heading, unless the model already opened with one.
pub fn document_body(row: &ExportRow) -> String {
    let body = row.article.body_markdown.trim();
    if body.starts_with("# ") {
        format!("{body}\n")
    } else {
        format!("# {}\n\n{body}\n", row.article.title.trim())
    }
}

pub fn render(row: &ExportRow) -> String {
    let (job, article) = (&row.job, &row.article);
    let mut out = String::with_capacity(article.body_markdown.len() + 512);
    out.push_str("---\n");
    for (key, value) in [
        ("title", article.title.as_str()),
        (
            "meta_description",
            article.meta_description.as_deref().unwrap_or(""),
        ),
        ("publisher", job.publisher_domain.as_str()),
        ("target", job.target_url.as_str()),
        ("anchor", job.anchor_text.as_str()),
    ] {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&yaml_str(value));
        out.push('\n');
    }
    if let Some(language) = article.language.as_deref().or(job.language.as_deref()) {
        out.push_str("language: ");
        out.push_str(&yaml_str(language));
        out.push('\n');
    }
    // Who wrote it, for the agency's records (the HTML and DOCX documents are what gets
    // published, so they don't say).
    let writer = [
        ("deployment", article.deployment.as_deref().unwrap_or("")),
        ("provider", article.provider.as_str()),
        ("model", article.model.as_str()),
    ];
    for (key, value) in writer.into_iter().filter(|(_, v)| !v.is_empty()) {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&yaml_str(value));
        out.push('\n');
    }
    out.push_str("---\n\n");
    // The HTML and DOCX exports escape as they render; the .md file is read by renderers.
    out.push_str(&inert(&document_body(row)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_values_are_quoted() {
        assert_eq!(yaml_str("a: \"b\"\n#c"), r##""a: \"b\"\n#c""##);
    }

    #[test]
    fn html_from_users_is_inert() {
        assert_eq!(
            inert("[<script>alert(1)</script>](https://x.se)\n> quote"),
            "[&lt;script>alert(1)&lt;/script>](https://x.se)\n> quote"
        );
    }
}
