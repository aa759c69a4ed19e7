//! The `stagesim` binary: argument parsing lives in `stagesim::cli`.

fn main() -> std::process::ExitCode {
    stagesim::cli::main()
}
