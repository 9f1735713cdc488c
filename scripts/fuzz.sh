#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ for a while each and reports.
#
#   scripts/fuzz.sh [SECONDS] [TARGETS...]     (default: 30 s, every target)
#
# Checks first that the committed seed corpora are what fuzz/examples/gen_corpus.rs writes (see below).
# Installs cargo-fuzz if missing (built from crates.io), builds the targets with AddressSanitizer and debug
# assertions on the stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the nightly flags cargo-fuzz passes), then
# runs each one with -max_total_time=SECONDS on a COPY of its committed corpus (fuzz/corpus/<target>), so
# runs never grow the committed corpus. Prints exec/s and coverage per target and ends with the plain line
# "N passed, M failed"; exits non-zero if any target crashed, leaked, timed out or ran out of memory.
# Crash inputs land in fuzz/artifacts/<target>/ (git-ignored); replay one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -a <target> fuzz/artifacts/<target>/crash-...   (from fuzz/)
#
# Environment: FUZZ_KEEP=DIR keeps the logs and the grown corpora in DIR (default: a temporary directory,
# removed at the end); FUZZ_JOBS=N runs N targets at a time (default 1).
set -uo pipefail
cd "$(dirname "$0")/../fuzz" || exit 1

seconds=${1:-30}
if [ $# -gt 0 ]; then shift; fi
case $seconds in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGETS...]" >&2; exit 2 ;;
esac
export RUSTC_BOOTSTRAP=1
flags=(-a) # debug assertions: the core's debug_assert!s are invariants too

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "=== installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

# The structured targets' seeds are written by fuzz/examples/gen_corpus.rs in `arbitrary`'s format: an input
# type that changes without the generator (a new variant shifts every enum choice) leaves seeds that no
# longer decode to what they were made for. The generator must build and rewrite the seeds unchanged.
echo "=== the seed corpora are what fuzz/examples/gen_corpus.rs writes"
cargo run -q --example gen_corpus >/dev/null || { echo "gen_corpus failed"; echo "0 passed, ${#targets[@]} failed"; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- corpus; then
  git diff --stat -- corpus
  echo "the committed seeds differ from gen_corpus's: run it (from fuzz/) and commit the corpus"
  echo "0 passed, ${#targets[@]} failed"
  exit 1
fi

echo "=== building ${#targets[@]} targets"
cargo fuzz build "${flags[@]}" || { echo "0 passed, ${#targets[@]} failed"; exit 1; }

work=${FUZZ_KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${FUZZ_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

run_one() {
  local t=$1
  local corpus="$work/corpus/$t"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  if [ -d "corpus/$t" ]; then cp -R "corpus/$t/." "$corpus/"; fi
  cargo fuzz run "${flags[@]}" "$t" "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$work/$t.log" 2>&1
  echo $? >"$work/$t.rc"
}

jobs=${FUZZ_JOBS:-1}
for t in "${targets[@]}"; do
  echo "=== fuzzing $t for ${seconds}s"
  run_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait

passed=0
failed=0
printf '\n%-20s %-6s %12s %8s %8s %10s\n' target result exec/s cov ft runs
for t in "${targets[@]}"; do
  log="$work/$t.log"
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
  # The last status line ("#N DONE cov: X ft: Y ...") and the final stats.
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  if [ "$rc" = 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
    result=ok
    passed=$((passed + 1))
  else
    result=FAILED
    failed=$((failed + 1))
  fi
  printf '%-20s %-6s %12s %8s %8s %10s\n' "$t" "$result" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${runs:-?}"
  if [ "$result" = FAILED ]; then
    echo "--- $t: last lines of the log ($log)"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written|artifact' "$log" | head -n 20
    tail -n 30 "$log"
  fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
