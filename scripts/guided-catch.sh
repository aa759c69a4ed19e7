#!/usr/bin/env bash
# Runs to first catch, with guidance on and off, for every catalogued
# defect: the table in docs/explore.md.
#
#   scripts/guided-catch.sh [STAGESIM] [RUNS]
#
# STAGESIM is the binary (default target/debug/stagesim; build it first),
# RUNS the runs each exploration may take (default 64; a defect not caught
# in them is tried again with 4x as many, then shown as ">N").
# For each defect and each of five --start values, `explore --bug X --json`
# runs once guided and once with --guided off; runs to first catch is the
# first failing run's number minus --start, plus one. The medians are over
# the five starts. Exploration is deterministic, so every figure is the same
# on every machine; only the wall time is not.
set -euo pipefail

stagesim=${1:-target/debug/stagesim}
runs=${2:-64}
starts=(1 1001 2001 3001 4001)
# The catalogue, as `explore --help` lists it under --bug (a name alone
# on its line, its story indented below).
bugs=$("$stagesim" explore --help | sed -n '/^ *--bug/,/^ *--fixed/p' |
  grep -E '^ {10}[a-z_0-9]+$' | tr -d ' ')
if [ "$(echo "$bugs" | wc -w)" -ne 10 ]; then
  echo "expected the ten catalogued defects in explore --help, got: $bugs" >&2
  exit 2
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Runs to first catch of defect $1 from start $2 with guidance $3, or ">N".
first_catch() {
  local bug=$1 start=$2 guided=$3 n=$runs
  for _ in 1 2; do
    local first
    first=$("$stagesim" explore --bug "$bug" --start "$start" --runs "$n" \
      --guided "$guided" --shrink-runs 1 --jobs 2 --json --out "$out/$bug-$start-$guided" \
      2>/dev/null | jq '[.failures[].first_run] | min // empty' || true)
    if [ -n "$first" ]; then
      echo $((first - start + 1))
      return
    fi
    n=$((n * 4))
  done
  echo ">$((n / 4))"
}

# The median of five numbers (">N" counts as more than every number).
median() {
  printf '%s\n' "$@" | sed 's/^>\(.*\)/\1.5/' | sort -g | sed -n 3p | sed 's/\.5$/+/'
}

echo "| defect | guided: runs to first catch (starts ${starts[*]}) | median | off: runs to first catch | median |"
echo "| --- | --- | --- | --- | --- |"
for bug in $bugs; do
  on=() off=()
  for s in "${starts[@]}"; do
    on+=("$(first_catch "$bug" "$s" on)")
    off+=("$(first_catch "$bug" "$s" off)")
  done
  echo "| \`$bug\` | ${on[*]} | $(median "${on[@]}") | ${off[*]} | $(median "${off[@]}") |"
done
