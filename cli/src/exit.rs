//! What went wrong, as the user sees it, and the exit code a script sees.

use std::fmt;

use crate::client::models::ErrorBody;

/// Exit codes, documented in `bacowr --help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Anything not covered below (a local file not writable, a panic).
    Failure = 1,
    /// Bad command line (clap's own code).
    Usage = 2,
    /// The input was refused: an unreadable file, or a 400/413/422 from the server.
    Invalid = 3,
    /// 401 or 403: the key is missing, wrong, revoked or lacks the scope.
    Auth = 4,
    /// 404: no such batch or item in this organization.
    NotFound = 5,
    /// 402, 409 or 429: a quota, a state conflict or a rate limit; trying later may work.
    Refused = 6,
    /// The server could not be reached, or answered 5xx; or a local service is missing.
    Unavailable = 7,
    /// `--wait` ended with jobs that failed (no article).
    JobsFailed = 8,
    /// `--wait` gave up (`--timeout`) while the batch was still generating on the server.
    TimedOut = 9,
    /// Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    Interrupted = 130,
}

#[derive(Debug)]
pub enum CliError {
    /// The server's own error, shown as it wrote it.
    Server {
        status: u16,
        body: Box<ErrorBody>,
        retry_after: Option<u64>,
    },
    /// A non-JSON error answer (a proxy in the way, say).
    ServerText {
        status: u16,
        text: String,
        retry_after: Option<u64>,
    },
    /// No connection: the request never left (refused, DNS, TLS).
    NotSent(String),
    /// Sent, but no answer came back (timeout, connection reset).
    Unreachable(String),
    /// The request could not be built from what the user gave.
    Input(String),
    /// Local work failed: writing a file, starting a component.
    Local(String),
    /// A dependency the local stack needs is missing.
    Missing(String),
    /// Generation finished with failed jobs.
    JobsFailed(i64),
    /// Waiting gave up; the work goes on on the server.
    TimedOut(String),
    /// The server took the request but declined part of it (review items in the wrong state).
    Refused(String),
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
}

impl CliError {
    /// The HTTP status of a server's refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } | Self::ServerText { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Seconds the server asked us to wait (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Server { retry_after, .. } | Self::ServerText { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Self::Server { status, .. } | Self::ServerText { status, .. } => match status {
                400 | 413 | 415 | 422 => Exit::Invalid,
                401 | 403 => Exit::Auth,
                404 => Exit::NotFound,
                402 | 409 | 429 => Exit::Refused,
                500.. => Exit::Unavailable,
                _ => Exit::Failure,
            },
            Self::Unreachable(_) | Self::NotSent(_) | Self::Missing(_) => Exit::Unavailable,
            Self::Input(_) => Exit::Invalid,
            Self::Local(_) => Exit::Failure,
            Self::JobsFailed(_) => Exit::JobsFailed,
            Self::TimedOut(_) => Exit::TimedOut,
            Self::Refused(_) => Exit::Refused,
            Self::Interrupted => Exit::Interrupted,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Server { status, body, .. } => {
                write!(
                    f,
                    "server answered {status} {}: {}",
                    body.error_code, body.detail
                )?;
                if let Some(field) = &body.field {
                    write!(f, " (field `{field}`)")?;
                }
                for e in body.errors.iter().flatten() {
                    write!(f, "\n  ")?;
                    if let Some(row) = e.row {
                        write!(f, "row {row} ")?;
                    }
                    if let Some(line) = e.line {
                        write!(f, "(line {line}) ")?;
                    }
                    write!(f, "{}: {}", e.field, e.message)?;
                }
                write!(f, "\n  request id: {}", body.request_id)
            }
            Self::ServerText { status, text, .. } => {
                let text = text.trim();
                let shown: String = text.chars().take(500).collect();
                write!(f, "server answered {status}: {shown}")
            }
            Self::Unreachable(m) | Self::NotSent(m) => write!(f, "cannot reach the server: {m}"),
            Self::Input(m)
            | Self::Local(m)
            | Self::Missing(m)
            | Self::TimedOut(m)
            | Self::Refused(m) => f.write_str(m),
            Self::JobsFailed(n) => write!(f, "{n} job(s) failed without an article"),
            Self::Interrupted => f.write_str("interrupted; stopped cleanly"),
        }
    }
}

impl std::error::Error for CliError {}
