//! A throwaway directory for an embedded demo's database and queue files, removed afterwards.

use std::path::{Path, PathBuf};

use crate::exit::CliError;

pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn create() -> Result<Self, CliError> {
        let path = std::env::temp_dir().join(format!(
            "bacowr-demo-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path)
            .map_err(|e| CliError::Local(format!("scratch directory {}: {e}", path.display())))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn remove(self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!(
                "could not remove the scratch directory {}: {e}",
                self.path.display()
            );
        }
    }
}
