//! `format=csv`: one row per link, for spreadsheets. Text cells that a spreadsheet would run
//! as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) get a leading `'`, the
//! OWASP guard against CSV injection: a title or anchor is data, never a formula.

use super::source::ExportRow;

pub const HEADER: [&str; 13] = [
    "row",
    "publisher_domain",
    "target_url",
    "anchor_text",
    "language",
    "title",
    "word_count",
    "qc_passed",
    "deployment",
    "provider",
    "model",
    "cost_usd",
    "article_url",
];

/// A text cell made safe to open in Excel, LibreOffice or Google Sheets.
pub fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A writer of CSV rows into a reusable buffer (drained after every page).
pub struct CsvRows {
    writer: ::csv::Writer<Vec<u8>>,
}

impl Default for CsvRows {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvRows {
    pub fn new() -> Self {
        Self {
            writer: Self::writer(),
        }
    }

    /// RFC 4180: CRLF line ends, fields quoted when they need it.
    fn writer() -> ::csv::Writer<Vec<u8>> {
        ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(Vec::new())
    }

    pub fn header(&mut self) -> ::csv::Result<()> {
        self.writer.write_record(HEADER)
    }

    pub fn row(&mut self, row: &ExportRow, url: &str) -> ::csv::Result<()> {
        let (job, article) = (&row.job, &row.article);
        self.writer.write_record([
            row.number().to_string(),
            cell(&job.publisher_domain),
            cell(&job.target_url),
            cell(&job.anchor_text),
            cell(job.language.as_deref().unwrap_or("")),
            cell(&article.title),
            article.word_count.to_string(),
            row.item.qc_passed.to_string(),
            cell(article.deployment.as_deref().unwrap_or("")),
            cell(&article.provider),
            cell(&article.model),
            format!("{:.6}", job.cost_micros as f64 / 1_000_000.0),
            cell(url),
        ])
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> std::io::Result<Vec<u8>> {
        std::mem::replace(&mut self.writer, Self::writer())
            .into_inner()
            .map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+46 70"), "'+46 70");
        assert_eq!(cell("-20% off"), "'-20% off");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("Bästa cyklar"), "Bästa cyklar");
        assert_eq!(cell(""), "");
    }
}
