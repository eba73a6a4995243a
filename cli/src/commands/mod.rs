//! The client commands: they talk to any BACOWR server over its HTTP API.

pub mod export;
pub mod review;
pub mod status;
pub mod submit;

use serde::Serialize;

use crate::{client::Client, exit::CliError};

/// Where the server is and who is calling, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// The BACOWR server's base URL.
    #[arg(long, env = "BACOWR_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// An API key (`bcw_…`) or an access token.
    #[arg(long, env = "BACOWR_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

impl Remote {
    pub fn client(&self) -> Result<Client, CliError> {
        let key = self.key.as_deref().unwrap_or_default();
        if key.is_empty() {
            return Err(CliError::Input(
                "no API key: pass --key or set BACOWR_API_KEY (create one with `bacowr-api create-org NAME` or POST /api/v1/api-keys)".into(),
            ));
        }
        Client::new(&self.server, key)
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Local(format!("cannot print JSON: {e}")))?;
    crate::out!("{text}");
    Ok(())
}
