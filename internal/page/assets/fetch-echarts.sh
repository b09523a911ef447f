#!/usr/bin/env bash
# Puts ECharts' dist/echarts.min.js next to this script, where //go:embed picks
# it up, so that reports and charts open offline. The file comes from the
# `echarts` npm package (major version 5, the one go-echarts v2 targets),
# downloaded once with `npm pack` into the cache folder that native/build.sh
# also uses (~/.cache/dadash/echarts/<version>), and is checked against a
# pinned SHA-256.
#
# Never fails the build: without npm or the network it says so, and dadash
# falls back to a CDN <script src> link (printing a warning when it writes a
# page).
set -uo pipefail

version=5.6.0
sha256=bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${DADASH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dadash}/echarts/$version
dest=$here/echarts.min.js

warn() { echo "fetch-echarts.sh: $*; reports will load ECharts from a CDN instead of inlining it" >&2; exit 0; }

if [ ! -f "$cache/echarts.min.js" ]; then
  if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing Debian packages: nodejs npm (for the ECharts asset)" >&2
      inst() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >&2; }
      inst || { apt-get update -q >&2 && inst; } || warn "could not install npm (apt-get install nodejs npm)"
    else
      warn "npm is not installed (as root: apt-get install nodejs npm)"
    fi
  fi
  mkdir -p "$(dirname "$cache")" || warn "cannot create $(dirname "$cache")"
  tmp=$(mktemp -d "$cache.tmp.XXXXXX") || warn "cannot create a temporary folder in $(dirname "$cache")"
  trap 'rm -rf "$tmp"' EXIT
  echo "downloading echarts $version (npm pack) into $cache ..." >&2
  (cd "$tmp" && npm pack --silent "echarts@$version" >/dev/null) || warn "npm pack echarts@$version failed"
  tar -xzf "$tmp/echarts-$version.tgz" -C "$tmp" package/dist/echarts.min.js || warn "echarts-$version.tgz has no dist/echarts.min.js"
  got=$(sha256sum "$tmp/package/dist/echarts.min.js" | cut -d' ' -f1)
  [ "$got" = "$sha256" ] || warn "echarts.min.js of echarts@$version has SHA-256 $got, expected $sha256"
  mkdir -p "$cache" && mv "$tmp/package/dist/echarts.min.js" "$cache/echarts.min.js" || warn "cannot write $cache"
fi
cmp -s "$cache/echarts.min.js" "$dest" 2>/dev/null || cp "$cache/echarts.min.js" "$dest" || warn "cannot copy into $dest"
