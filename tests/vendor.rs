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
/// the fix. Per commit, build.rs is compiled on its own and run the way Cargo
/// runs it for such a build (the target's cfgs without `tokio_unstable`, the
/// flags in `CARGO_ENCODED_RUSTFLAGS`): about a second. The whole `cargo
/// check` is the long form below, which builds the build-dependencies in a
/// target directory of its own (about 100 s on a fresh clone).
#[test]
fn the_build_script_refuses_rustflags_that_drop_tokio_unstable() {
    let dir = support::path("target/tmp/guard");
    std::fs::create_dir_all(&dir).expect("create target/tmp/guard");
    let script = dir.join("build-script");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let compiled = std::process::Command::new(&rustc)
        .args(["--edition", "2024", "-o"])
        .arg(&script)
        .arg(support::path("build.rs"))
        .output()
        .expect("run rustc");
    assert!(
        compiled.status.success(),
        "{rustc} build.rs failed:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let refused = |cfg_set: bool| {
        let mut run = std::process::Command::new(&script);
        run.env("CARGO_ENCODED_RUSTFLAGS", "-C\u{1f}target-cpu=native")
            .env_remove("CARGO_CFG_TOKIO_UNSTABLE");
        if cfg_set {
            run.env("CARGO_CFG_TOKIO_UNSTABLE", "");
        }
        run.output().expect("run the compiled build script")
    };
    let with_cfg = refused(true);
    assert!(
        with_cfg.status.success(),
        "build.rs refused a build that has tokio_unstable:\n{}",
        String::from_utf8_lossy(&with_cfg.stderr)
    );
    let without = refused(false);
    assert!(
        !without.status.success(),
        "build.rs let a build without tokio_unstable through"
    );
    assert_names_the_fix(&String::from_utf8_lossy(&without.stderr));
}

/// The long form: a real `cargo check` with such a `RUSTFLAGS` fails, so
/// Cargo does run the guard (and `src/lib.rs`'s `compile_error!` backs it).
/// `cargo test --test vendor -- --ignored`; the scheduled CI job runs it.
#[test]
#[ignore = "builds the build-dependencies again (about 100 s); run with --ignored"]
fn a_build_with_rustflags_that_drop_tokio_unstable_fails_naming_the_fix() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["check", "--lib", "--locked", "--offline", "--quiet"])
        .current_dir(support::path(""))
        .env("RUSTFLAGS", "-C target-cpu=native")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", support::path("target/rustflags-guard"))
        .output()
        .expect("run cargo check");
    assert!(
        !out.status.success(),
        "a build without tokio_unstable succeeded\n\
         reproduce: RUSTFLAGS='-C target-cpu=native' cargo check --lib"
    );
    assert_names_the_fix(&String::from_utf8_lossy(&out.stderr));
}

/// The refusal says what is wrong, which flags did it, and the fix.
fn assert_names_the_fix(stderr: &str) {
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
