//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/data/<name>`.
pub fn data(name: &str) -> PathBuf {
    root().join("tests").join("data").join(name)
}

/// An `otklik` command with a private data directory and the repository's rules.
pub fn otklik(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_otklik"));
    c.current_dir(root())
        .env_remove("DATABASE_URL")
        .env("OTKLIK_DATA_DIR", data_dir)
        .env("OTKLIK_LOG__LEVEL", "warn");
    c
}

/// Run and capture; panics with the output when the process could not start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("start otklik")
}

/// stdout + stderr as one string.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
