//! `bacowr export BATCH --format …`: downloads the approved articles.

use std::path::PathBuf;

use crate::{client::EXPORT_FORMATS, commands::Remote, exit::CliError};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The batch id (`batch_…`).
    pub batch: String,
    /// json, csv, markdown (zip), html (zip) or docx (zip).
    #[arg(long, default_value = "json")]
    pub format: String,
    /// Folder to write into (created if missing), or `-` for standard output.
    #[arg(long, short, default_value = "bacowr-out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub remote: Remote,
}

/// Writes `bytes` as `dir/name`, through a temporary file so a half-written export never
/// sits under the final name.
pub fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Local(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.part"));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::Local(format!("cannot write {}: {e}", path.display()))
        })?;
    Ok(path)
}

pub async fn run(args: ExportArgs) -> Result<(), CliError> {
    if !EXPORT_FORMATS.contains(&args.format.as_str()) {
        return Err(CliError::Input(format!(
            "--format {:?}: expected one of {}",
            args.format,
            EXPORT_FORMATS.join(", ")
        )));
    }
    let client = args.remote.client()?;
    let download = client.export(&args.batch, &args.format).await?;
    if args.out.as_os_str() == "-" {
        use std::io::Write;
        return std::io::stdout()
            .write_all(&download.bytes)
            .map_err(|e| CliError::Local(format!("cannot write to standard output: {e}")));
    }
    let path = write_file(&args.out, &download.file_name, &download.bytes)?;
    eprintln!("wrote {} ({} bytes)", path.display(), download.bytes.len());
    crate::out!("{}", path.display());
    Ok(())
}
