#!/usr/bin/env bash
# Issue 14's measurement: the glyph main job's table (proxy loss and proxy
# loss + DADA, the main job's seeds and settings) with the training loop
# before it followed the reference (stdlib/train.star at commit 1d807d1) and
# after (today's). "After" is the main job itself (dadash scripts/glyphs.star);
# this script runs "before": the old train.star, taken from git history,
# driven with the same data, network, criterion and settings.
#   bench/loop/before_after.sh [OUT_DIR]       (about as long as the main job)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/glyphs_before}; [ $# -gt 0 ] && shift
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
git show 1d807d1:stdlib/train.star > "$tmp/train_1d807d1.star"
cp bench/loop/before.star "$tmp/before.star"
[ -x ./dadash ] || go build -o dadash ./cmd/dadash
./dadash "$tmp/before.star" --save_path "$out" "$@"
