//! How stagesim is built. The vendored crates are their crates.io
//! releases plus the reviewed patches and nothing else (vendor/README.md). `vendor/check` does the
//! work: unpack the release (from Cargo's cache or crates.io), verify its
//! checksum, apply `vendor/patches/CRATE/*.patch` in name order, compare
//! byte for byte.

mod support;

#[test]
fn vendored_trees_are_pristine_releases_plus_their_patches() {
    let out = std::process::Command::new("bash")
        .arg(support::path("vendor/check"))
        .output()
        .expect("run bash vendor/check");
    assert!(
        out.status.success(),
        "vendor/check failed (exit {:?}):\n{}{}\nreproduce: bash vendor/check\n\
         after changing a vendored crate on purpose: bash vendor/make-patches",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

/// The determinism guard (build.rs, src/lib.rs): a `RUSTFLAGS` in the
/// environment replaces `.cargo/config.toml`'s `--cfg tokio_unstable`, which
/// used to make runs silently irreproducible. Such a build must fail, naming
/// the fix. It builds in its own target directory (kept under `target/`, so
/// a second run reuses what the first compiled; about 90 s the first time).
#[test]
fn a_build_with_rustflags_that_drop_tokio_unstable_fails_naming_the_fix() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["check", "--lib", "--locked", "--offline", "--quiet"])
        .current_dir(support::path(""))
        .env("RUSTFLAGS", "-C target-cpu=native")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", support::path("target/rustflags-guard"))
        .output()
        .expect("run cargo check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a build without tokio_unstable succeeded\n\
         reproduce: RUSTFLAGS='-C target-cpu=native' cargo check --lib"
    );
    for words in [
        "stagesim must be built with `--cfg tokio_unstable`",
        "(here: `-C target-cpu=native`)",
        "fix: build with RUSTFLAGS=\"-C target-cpu=native --cfg tokio_unstable\"",
    ] {
        assert!(
            stderr.contains(words),
            "the build failed without saying {words:?}:\n{stderr}\n\
             reproduce: RUSTFLAGS='-C target-cpu=native' cargo check --lib"
        );
    }
}
