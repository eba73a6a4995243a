//! CSV uploads: a header row `publisher,target,anchor[,language]` (or the JSON field names),
//! comma-, semicolon- or tab-separated (spreadsheets in many locales save with `;`).

use super::RawLink;
use crate::error::{ApiError, FieldError};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Publisher,
    Target,
    Anchor,
    Language,
}

impl Column {
    /// The JSON field a column fills, as errors name it.
    fn field(self) -> &'static str {
        match self {
            Self::Publisher => "publisher_domain",
            Self::Target => "target_url",
            Self::Anchor => "anchor_text",
            Self::Language => "language",
        }
    }
}

fn column(name: &str) -> Option<Column> {
    match name
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .as_str()
    {
        "publisher" | "publisher_domain" => Some(Column::Publisher),
        "target" | "target_url" => Some(Column::Target),
        "anchor" | "anchor_text" => Some(Column::Anchor),
        "language" => Some(Column::Language),
        _ => None,
    }
}

fn delimiter(body: &[u8]) -> u8 {
    let header = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| count(d))
        .filter(|&d| count(d) > 0)
        .unwrap_or(b',')
}

/// The line a spreadsheet shows for the record starting at byte `start`: line breaks before it
/// counted once each (CRLF, LF or CR), blank lines included, breaks inside quoted cells not.
fn spreadsheet_line(body: &[u8], start: u64) -> u64 {
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(body.len());
    // The reader may place a record's start on the line break that ends the previous one.
    let start = start
        + body[start..]
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
    let (mut line, mut quoted, mut i) = (1u64, false, 0);
    while i < start {
        match body[i] {
            b'"' => quoted = !quoted,
            b'\r' if !quoted => {
                line += 1;
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' if !quoted => line += 1,
            _ => {}
        }
        i += 1;
    }
    line
}

fn header_error(message: String) -> ApiError {
    ApiError::bad_request("header", message)
}

pub(super) fn parse(body: &[u8]) -> Result<(Vec<RawLink>, Vec<FieldError>), ApiError> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::bad_request(
            "body",
            "the CSV must be UTF-8 encoded",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(body))
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| header_error(format!("cannot read the CSV header: {e}")))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(header_error(
            "the CSV needs a header row: publisher,target,anchor[,language]".into(),
        ));
    }
    let mut columns = Vec::with_capacity(headers.len());
    for name in headers.iter() {
        let col = column(name).ok_or_else(|| {
            header_error(format!(
                "unknown CSV column {name:?}; expected publisher,target,anchor[,language] \
                 (or publisher_domain,target_url,anchor_text[,language])"
            ))
        })?;
        if columns.contains(&col) {
            return Err(header_error(format!("CSV column {name:?} appears twice")));
        }
        columns.push(col);
    }
    for (required, name) in [
        (Column::Publisher, "publisher"),
        (Column::Target, "target"),
        (Column::Anchor, "anchor"),
    ] {
        if !columns.contains(&required) {
            return Err(header_error(format!(
                "the CSV header lacks the {name:?} column"
            )));
        }
    }

    let mut links = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let row = links.len();
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError {
                    field: format!("links[{row}]"),
                    message: format!("unreadable CSV row: {e}"),
                    row: Some(row),
                    line: e.position().map(|p| spreadsheet_line(body, p.byte())),
                });
                links.push(RawLink::skipped_at(None));
                continue;
            }
        };
        let line = record.position().map(|p| spreadsheet_line(body, p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // blank lines, common at the end of exported sheets
        }
        if record.len() != columns.len() {
            errors.push(FieldError {
                field: format!("links[{row}]"),
                message: format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    columns.len()
                ),
                row: Some(row),
                line,
            });
            links.push(RawLink::skipped_at(line));
            continue;
        }
        let mut link = RawLink::skipped_at(line);
        link.malformed = false;
        for (col, value) in columns.iter().zip(record.iter()) {
            if let Some(message) = super::strict::control_character(value) {
                errors.push(FieldError {
                    field: format!("links[{row}].{}", col.field()),
                    message,
                    row: Some(row),
                    line,
                });
                link.malformed = true;
            }
            let value = value.to_owned();
            match col {
                Column::Publisher => link.publisher_domain = value,
                Column::Target => link.target_url = value,
                Column::Anchor => link.anchor_text = value,
                Column::Language => link.language = Some(value),
            }
        }
        links.push(link);
    }
    Ok((links, errors))
}

impl RawLink {
    fn skipped_at(line: Option<u64>) -> Self {
        RawLink {
            publisher_domain: String::new(),
            target_url: String::new(),
            anchor_text: String::new(),
            language: None,
            line,
            malformed: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_header_styles_and_semicolons() {
        let (links, errors) =
            parse(b"publisher,target,anchor\nblogg.se,https://a.se/,ankare\n").unwrap();
        assert!(errors.is_empty());
        assert_eq!(links[0].publisher_domain, "blogg.se");
        let (links, _) = parse(
            "\u{feff}publisher_domain;target_url;anchor_text;language\nb.de;https://x.de/;Text, mit Komma;de\n\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].anchor_text, "Text, mit Komma");
        assert_eq!(links[0].language.as_deref(), Some("de"));
    }

    #[test]
    fn header_problems_are_400_and_ragged_rows_are_reported() {
        assert!(parse(b"site,url\nx,y\n").is_err());
        assert!(parse(b"publisher,target\nx,y\n").is_err());
        let (_, errors) = parse(b"publisher,target,anchor\na.se,https://a.se/\n").unwrap();
        assert_eq!(errors[0].field, "links[0]");
        assert_eq!(errors[0].line, Some(2));
    }
}
