#!/usr/bin/env bash
# Runs to first catch, for every catalogued defect: with guidance on and
# off, and under each task order with guidance off (`--schedule
# fifo|random|pct`; without the flag each run draws its own): the table
# in docs/explore.md.
#
#   scripts/guided-catch.sh [STAGESIM] [RUNS]
#
# STAGESIM is the binary (default target/debug/stagesim; build it first),
# RUNS the runs each exploration takes first (default 8; a defect not
# caught in them is tried again with 4x as many, twice, then shown as
# ">N"). For each defect, mode and each of five --start values, `explore
# --bug X --json` runs once; runs to first catch is the first failing
# run's number minus --start, plus one. The medians are over the five
# starts. Exploration is deterministic, so every figure is the same on
# every machine and for any --jobs; only the wall time is not.
set -euo pipefail

stagesim=${1:-target/debug/stagesim}
runs=${2:-8}
starts=(1 1001 2001 3001 4001)
modes=("--guided on" "--guided off" "--guided off --schedule fifo"
  "--guided off --schedule random" "--guided off --schedule pct")
labels=("guided" "unguided" "fifo" "random" "pct")
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

# Runs to first catch of defect $1 from start $2 with the flags $3, or ">N".
first_catch() {
  local bug=$1 start=$2 flags=$3 n=$runs
  for _ in 1 2 3; do
    local first
    # shellcheck disable=SC2086 # $flags is several words on purpose
    first=$("$stagesim" explore --bug "$bug" --start "$start" --runs "$n" $flags \
      --shrink-runs 1 --jobs 2 --json --out "$out/x" \
      2>/dev/null | jq '[.failures[].first_run] | min // empty' || true)
    rm -rf "$out/x"
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

header="| defect |"
rule="| --- |"
for l in "${labels[@]}"; do
  header="$header $l | median |"
  rule="$rule --- | --- |"
done
echo "$header"
echo "$rule"
for bug in $bugs; do
  row="| \`$bug\` |"
  for m in "${modes[@]}"; do
    got=()
    for s in "${starts[@]}"; do
      got+=("$(first_catch "$bug" "$s" "$m")")
    done
    row="$row ${got[*]} | $(median "${got[@]}") |"
  done
  echo "$row"
done
