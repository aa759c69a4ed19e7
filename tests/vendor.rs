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

/// vendor/README.md's table gives each patch's size as `grep` counts it
/// (files, and `+` lines that are not `+++` headers); the sizes cannot go
/// stale: each row must say what its patch file holds now.
#[test]
fn the_readme_gives_each_patch_s_size() {
    let readme =
        std::fs::read_to_string(support::path("vendor/README.md")).expect("vendor/README.md");
    let mut patches: Vec<std::path::PathBuf> = Vec::new();
    for dir in std::fs::read_dir(support::path("vendor/patches")).expect("vendor/patches") {
        for file in std::fs::read_dir(dir.expect("a crate's patches").path()).expect("a directory")
        {
            patches.push(file.expect("a patch").path());
        }
    }
    patches.sort();
    assert!(patches.len() >= 4, "{patches:?}");
    for patch in patches {
        let text = std::fs::read_to_string(&patch).expect("a patch is text");
        let files = text.lines().filter(|l| l.starts_with("+++ ")).count();
        let added = text.lines().filter(|l| l.starts_with('+')).count() - files;
        let name = patch.file_name().and_then(|n| n.to_str()).expect("a name");
        let crate_dir = patch
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .expect("a crate");
        let noun = if files == 1 { "file" } else { "files" };
        let size = format!("`{name}` ({files} {noun}, {added} lines added");
        let row = readme
            .lines()
            .find(|l| {
                l.starts_with(&format!("| `{crate_dir}` |")) && l.contains(&format!("`{name}`"))
            })
            .unwrap_or_else(|| panic!("vendor/README.md has no row for {crate_dir}/{name}"));
        assert!(
            row.contains(&size),
            "vendor/README.md: {crate_dir}/{name} should say {size}...; the row is:\n{row}"
        );
    }
}
