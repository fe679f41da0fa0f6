//! The `relais` command: parses the command line, sets up logging, and hands over
//! to the library.

fn main() -> std::process::ExitCode {
    relais::cli::main()
}
