//! The `relais` command: parses the command line, sets up logging, and hands over
//! to the library.

/// mimalloc instead of glibc's allocator (the default feature `mimalloc`;
/// `--no-default-features` for glibc's). BENCHMARKS.md has the A/B.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    relais::cli::main()
}
