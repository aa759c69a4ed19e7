# Sourced by vendor/check and vendor/make-patches: `pristine CRATE DIR`
# unpacks the crates.io release CRATE (name-version) into DIR/CRATE, after
# checking it against the checksum in vendor/crates.sha256 (the one
# Cargo.lock held before the patch). Cargo's download cache is used when it
# has the file; otherwise it is fetched from crates.io.
pristine() {
    local crate=$1 dir=$2 sha file cached
    sha=$(awk -v c="$crate" '$1 == c { print $2 }' "$vendor/crates.sha256")
    [ -n "$sha" ] || { echo "vendor: no checksum for $crate in crates.sha256" >&2; return 1; }
    file="$dir/$crate.crate"
    cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$crate.crate" 2>/dev/null | head -n 1 || true)
    if [ -n "$cached" ]; then
        cp "$cached" "$file"
    else
        curl -fsSL "https://static.crates.io/crates/${crate%-*}/$crate.crate" -o "$file"
    fi
    echo "$sha  $file" | sha256sum --check --quiet - >&2 \
        || { echo "vendor: $crate.crate does not match its checksum" >&2; return 1; }
    tar xzf "$file" -C "$dir"
}
