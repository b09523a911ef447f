# dadash build. `make` on a fresh Debian 12 machine (as root) installs the
# Debian packages dadash needs, builds the native libraries into a cache
# outside the checkout (~/.cache/dadash/native/<versions>), and builds ./dadash.
#
#   make            set up and build ./dadash
#   make demo       the above, then run the default main job (scripts/glyphs.star)
#   make test       vet and test everything (what CI runs)
#   make bench      the committed benchmarks
#   make env        print the CGO exports, for `go build`/`go test` by hand:
#                   eval "$(make -s env)"
#
# LIBTORCH=/path/to/libtorch builds against another libtorch distribution
# (e.g. the CUDA one from pytorch.org) instead of Debian's libtorch-dev.

SHELL := /bin/bash
GO ?= go
# Each fuzz target of the hostile-file readers runs this many inputs in
# `make test` (10-25 s here). A count, not a duration: with a duration,
# Go 1.26's coordinator can fail a target with a bare "context deadline
# exceeded" at the deadline, no input found (golang/go#75804, fixed in Go
# 1.27); a fresh clone's `make test` hit it once. -fuzzminimizetime 0: Go's
# minimizer stalls on inputs of a few KB, golang/go#48820.
FUZZTIME ?= 600000x
export LIBTORCH

# Debian packages: the engines, their headers (libgloo-dev: the headers of
# c10d's Gloo process group, for dist), the real-data test set, and
# the compilers cgo needs.
APT_PACKAGES := g++ make git ca-certificates libtorch-dev libfaiss-dev libopenblas-dev dataset-fashion-mnist libturbojpeg0-dev libgloo-dev libjpeg62-turbo-dev
# The fonts of data.glyphs: 12 distinct faces that draw all of GB2312 level 1
# (about 320 MB installed; builtins/data/glyphs/fonts.go says why these).
APT_PACKAGES += fonts-noto-cjk fonts-arphic-ukai fonts-arphic-uming fonts-wqy-zenhei fonts-droid-fallback fonts-hanazono fonts-lxgw-wenkai fonts-smiley-sans fonts-unifont
# What only the tests need: a headless browser that loads reports offline.
TEST_APT_PACKAGES := chromium
# What only the benchmarks need: torchvision + PIL to compare the data pipeline with.
BENCH_APT_PACKAGES := python3-torchvision python3-pil

# Sources the Go build environment of the native cache (building it first).
WITH_NATIVE = set -euo pipefail; native_dir=$$(native/build.sh); set -a; . "$$native_dir/env.sh"; set +a;

.PHONY: all deps native echarts dadash demo test bench env clean

all: dadash

deps:
	@missing=$$(for p in $(APT_PACKAGES) $(EXTRA_APT); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "dadash needs these Debian packages; run as root:"; \
	    echo "  apt-get install -y --no-install-recommends" $$missing; \
	    exit 1; \
	  fi; \
	fi
	@command -v $(GO) >/dev/null || { echo "dadash needs Go 1.26 or newer (https://go.dev/dl/)"; exit 1; }

native: deps
	@native/build.sh >/dev/null

# ECharts for reports to inline, from the echarts npm package (cached in
# ~/.cache/dadash/echarts/<version>); without npm or network, pages link a CDN.
echarts:
	@internal/page/assets/fetch-echarts.sh

dadash: native echarts
	@$(WITH_NATIVE) $(GO) build -o dadash ./cmd/dadash
	@echo "built ./dadash"

demo: dadash
	./dadash scripts/glyphs.star

test: EXTRA_APT = $(TEST_APT_PACKAGES)
test: native echarts
	@$(WITH_NATIVE) \
	  bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi; \
	  $(GO) vet ./... && $(GO) test -timeout 30m ./... && \
	  for t in torch/ptfile:FuzzRead torch/ptfile:FuzzPickle checkpoint:FuzzDescription; do \
	    $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./builtins/$${t%%:*} || exit 1; \
	  done

bench: EXTRA_APT = $(BENCH_APT_PACKAGES)
bench: dadash
	@$(WITH_NATIVE) ./bench/run

env: native
	@cat "$$(native/build.sh)/env.sh"

clean:
	rm -f dadash
