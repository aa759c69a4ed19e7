//! The vendored crates are their crates.io releases plus the reviewed
//! patches and nothing else (vendor/README.md). `vendor/check` does the
//! work: unpack the release (from Cargo's cache or crates.io), verify its
//! checksum, apply `vendor/patches/CRATE.patch`, compare byte for byte.

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
