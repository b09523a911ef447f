#!/usr/bin/env bash
# Runs bench/glyphs_tune.star once per line of settings (stdin or the file
# given), one after another (the runs would only compete for the cores), and
# appends each run's result line to $OUT (default /tmp/dadash-glyphs-tune.txt).
#   bench/glyphs_tune.sh <<'RUNS'
#   method=raw
#   method=proxy seed=0
#   method=dada seed=0 oproxy_ratio=0.0075 dis_gamma=1
#   RUNS
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/dadash-glyphs-tune.txt}
[ -x ./dadash ] || go build -o dadash ./cmd/dadash
while read -r line; do
  [ -z "$line" ] || [[ $line == \#* ]] && continue
  args=()
  for kv in $line; do args+=(--set "$kv"); done
  log=$(mktemp)
  if ./dadash bench/glyphs_tune.star "${args[@]}" > "$log" 2>&1; then
    echo "$(grep '^result' "$log") load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out"
  else
    echo "FAILED: $line" | tee -a "$out"; tail -5 "$log"
  fi
  rm -f "$log"
done < "${1:-/dev/stdin}"
