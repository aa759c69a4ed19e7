//! The determinism guard, first half: refuse to build without
//! `--cfg tokio_unstable` (docs/design.md, "Determinism rules").
//!
//! Without that cfg tokio's `select!` draws its branch order from an
//! unseeded RNG and turmoil cannot seed its hosts' runtimes, so the same
//! scenario and seed stop giving the same trace, and nothing says so. The
//! flag lives in `.cargo/config.toml`, but any `RUSTFLAGS` in the
//! environment (or a `cargo install --git`, which reads no config of ours)
//! replaces it. A build script sees the target's cfgs as `CARGO_CFG_*` and
//! runs before the crate's dependencies finish compiling, so the build fails
//! in seconds rather than after every dependency has been rebuilt;
//! `src/lib.rs` repeats the check as a `compile_error!` for builds that skip
//! this script.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTFLAGS");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    if std::env::var_os("CARGO_CFG_TOKIO_UNSTABLE").is_some() {
        return;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS")
        .map(|f| f.replace('\u{1f}', " "))
        .unwrap_or_default();
    eprintln!("{}", refusal(flags.trim()));
    std::process::exit(1);
}

/// What the build says when the cfg is missing: why, and the fix.
fn refusal(flags: &str) -> String {
    let fix = if flags.is_empty() {
        "RUSTFLAGS=\"--cfg tokio_unstable\"".to_string()
    } else {
        format!("RUSTFLAGS=\"{flags} --cfg tokio_unstable\"")
    };
    format!(
        "error: stagesim must be built with `--cfg tokio_unstable`, or its runs are not \
         reproducible (tokio's select! would draw from an unseeded RNG).\n\
         RUSTFLAGS set in the environment replaces the flags in .cargo/config.toml{}.\n\
         fix: build with {fix}",
        if flags.is_empty() {
            String::new()
        } else {
            format!(" (here: `{flags}`)")
        },
    )
}
