//! What goes over the wire besides the payloads: which failures may be retried, how an
//! error answer becomes the server's own error, file names from `Content-Disposition`.

use std::time::Duration;

use reqwest::{Response, StatusCode, header};

use super::models::ErrorBody;
use crate::exit::CliError;

/// Whether a request may be sent again when its answer was lost.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Replay {
    /// Reads, and submissions (they carry an `Idempotency-Key`).
    Safe,
    /// Only when it surely never arrived, or was refused with 429.
    IfUnsent,
}

/// How long a read may take before it counts as lost (exports get the client's 300 s).
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn transient(e: &CliError) -> bool {
    matches!(e, CliError::Unreachable(_) | CliError::NotSent(_))
        || matches!(e.status(), Some(429 | 502 | 503 | 504))
}

/// An error with every cause, e.g. "error sending request: client error (Connect): tcp
/// connect error: Connection refused (os error 111)".
pub(super) fn causes(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// A path segment from user input: ids are ASCII, but never let input add path parts.
pub(super) fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `attachment; filename="x.zip"` → `x.zip`, reduced to a bare file name.
pub(super) fn attachment_name(value: &str) -> Option<String> {
    let raw = value
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("filename="))?
        .trim_matches('"');
    let name = raw.rsplit(['/', '\\']).next()?.trim();
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_owned())
}

/// Turns an error status into the server's own error (or its text).
pub(super) async fn check(response: Response) -> Result<Response, CliError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let code = status.as_u16();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(CliError::Server {
            status: code,
            body: Box::new(body),
            retry_after,
        }),
        Err(_) => Err(CliError::ServerText {
            status: code,
            retry_after,
            text: if text.is_empty() {
                StatusCode::from_u16(code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_owned()
            } else {
                text
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::attachment_name;

    #[test]
    pub(super) fn attachment_names_are_bare_file_names() {
        assert_eq!(
            attachment_name("attachment; filename=\"batch_x_csv.csv\"").as_deref(),
            Some("batch_x_csv.csv")
        );
        assert_eq!(
            attachment_name("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(attachment_name("attachment; filename=\"..\""), None);
        assert_eq!(attachment_name("inline"), None);
    }
}
