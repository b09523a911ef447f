#!/usr/bin/env bash
# Builds the native libraries dadash links against, into a cache folder outside
# the checkout, and prints that folder. A folder that is already complete is
# reused, so a second clone builds in seconds.
#
#   libcgotorch.so  gotorch's C++ wrapper, compiled from the gotorch module
#                   source against the selected libtorch
#   libfaiss_c.so   the faiss C API (native/faiss_c), over Debian's static libfaiss
#   env.sh          the CGO flags the Go build needs (sourced by the Makefile)
#
# LIBTORCH=/path/to/libtorch selects a libtorch distribution (e.g. the CUDA one
# from pytorch.org); default is Debian's libtorch-dev under /usr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
jobs=${JOBS:-$(nproc)}

die() { echo "native/build.sh: $*" >&2; exit 1; }

# --- where libtorch lives --------------------------------------------------
if [ -n "${LIBTORCH:-}" ]; then
  [ -d "$LIBTORCH/include" ] && [ -d "$LIBTORCH/lib" ] ||
    die "LIBTORCH=$LIBTORCH does not look like a libtorch distribution (expected include/ and lib/ inside it)"
  torch_inc="-I$LIBTORCH/include -I$LIBTORCH/include/torch/csrc/api/include"
  torch_lib="$LIBTORCH/lib"
  verh="$LIBTORCH/include/torch/csrc/api/include/torch/version.h"
else
  torch_inc="-I/usr/include/torch/csrc/api/include"
  torch_lib=""
  verh=/usr/include/torch/csrc/api/include/torch/version.h
fi
[ -f "$verh" ] || die "libtorch headers not found ($verh). Install libtorch-dev (run 'make' as root) or set LIBTORCH=/path/to/libtorch"
torch_version=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/{printf "%s%s", sep, $3; sep="."}' "$verh")
[ -f /usr/include/faiss/Index.h ] || die "faiss headers not found (/usr/include/faiss). Install libfaiss-dev (run 'make' as root)"
faiss_version=$(awk '/define FAISS_VERSION_(MAJOR|MINOR|PATCH)/{printf "%s%s", sep, $3; sep="."}' /usr/include/faiss/Index.h)

# --- gotorch module source -------------------------------------------------
gotorch_version=$(cd "$root" && go list -m -f '{{.Version}}' github.com/wangkuiyi/gotorch)
gotorch_dir=$(cd "$root" && go list -m -f '{{.Dir}}' github.com/wangkuiyi/gotorch 2>/dev/null || true)
if [ -z "$gotorch_dir" ] || [ ! -d "$gotorch_dir/cgotorch" ]; then
  (cd "$root" && go mod download github.com/wangkuiyi/gotorch)
  gotorch_dir=$(cd "$root" && go list -m -f '{{.Dir}}' github.com/wangkuiyi/gotorch)
fi

# CUDA builds of libtorch ship libtorch_cuda; link it so torch.cuda works.
cuda_flags="" cuda_libs=""
if [ -n "$torch_lib" ] && [ -f "$torch_lib/libtorch_cuda.so" ]; then
  cuda_flags="-DWITH_CUDA"
  [ -d /usr/local/cuda/include ] && cuda_flags="$cuda_flags -I/usr/local/cuda/include"
  cuda_libs="-Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed"
fi
# pytorch.org ships both C++ ABIs; match the one libc10 was built with.
abi=1
# (grep -c, not -q: with pipefail, -q closing the pipe early fails nm.)
if [ -n "$torch_lib" ] && [ "$(nm -DC "$torch_lib/libc10.so" 2>/dev/null | grep -c '__cxx11')" = 0 ]; then abi=0; fi

src_hash=$(cat "$here/build.sh" "$here"/faiss_c/*.cpp "$here"/faiss_c/*.h 2>/dev/null | sha256sum | cut -c1-10)
key="torch-${torch_version}-abi${abi}$( [ -n "$cuda_flags" ] && echo -cuda)_$(echo "${LIBTORCH:-debian}" | sha256sum | cut -c1-6)_gotorch-${gotorch_version##*-}_faiss-${faiss_version}_${src_hash}"
cache=${DADASH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dadash}
out="$cache/native/$key"

if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

tmp="$out.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp/obj"
trap 'rm -rf "$tmp"' EXIT
cxxflags="-std=c++17 -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=$abi $torch_inc $cuda_flags"
ldpath=""
[ -n "$torch_lib" ] && ldpath="-L$torch_lib -Wl,-rpath,$torch_lib"

echo "building gotorch's C++ wrapper against libtorch $torch_version ($jobs jobs) ..." >&2
ls "$gotorch_dir"/cgotorch/*.cc | xargs -P "$jobs" -I{} sh -c \
  'f={}; b=$(basename "$f" .cc); g++ '"$cxxflags"' -I"'"$gotorch_dir"'" -c "$f" -o "'"$tmp"'/obj/$b.o" || exit 255'
g++ -shared -o "$tmp/libcgotorch.so" "$tmp"/obj/*.o $ldpath -lc10 -ltorch -ltorch_cpu $cuda_libs

echo "building the faiss C API over libfaiss $faiss_version ..." >&2
mkdir -p "$tmp/fobj"
ls "$here"/faiss_c/*.cpp | xargs -P "$jobs" -I{} sh -c \
  'f={}; b=$(basename "$f" .cpp); g++ -std=c++17 -O2 -fPIC -fopenmp -c "$f" -o "'"$tmp"'/fobj/$b.o" || exit 255'
g++ -shared -o "$tmp/libfaiss_c.so" "$tmp"/fobj/*.o -lfaiss -lopenblas -lgomp

mkdir -p "$tmp/include"
cat > "$tmp/include/dadash_native.h" <<H
/* Written by native/build.sh: its presence tells cgo code that the native
   build ran and the CGO flags point here. */
#define DADASH_NATIVE_DIR "$out"
#define DADASH_LIBTORCH_VERSION "$torch_version"
#define DADASH_FAISS_VERSION "$faiss_version"
H
# The CGO flags the Go build needs; `make env` prints this file.
cat > "$tmp/env.sh" <<M
export CGO_CFLAGS="-I$out/include"
export CGO_CXXFLAGS="-I$out/include -D_GLIBCXX_USE_CXX11_ABI=$abi $torch_inc $cuda_flags"
export CGO_LDFLAGS="-L$out -Wl,-rpath,$out $ldpath $cuda_libs"
M
rm -rf "$tmp/obj" "$tmp/fobj"
touch "$tmp/.complete"
trap - EXIT
rm -rf "$out"; mv "$tmp" "$out"
echo "$out"
