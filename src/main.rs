//! The `otklik` command: see `otklik --help` and the README.
fn main() -> std::process::ExitCode {
    otklik_cli::main()
}
