#!/usr/bin/env bash
# Builds a no-op libcuda.so.1, libcublas.so.12 and libcudnn.so.9 (see null_cuda.c) into OUT_DIR for the JCuda natives the
# project runs with: those inside JAR (default target/gpu-lenet.jar, the runnable jar, which carries them
# under lib/), or else those in the local Maven repository (M2_REPO, default ~/.m2/repository). Every symbol
# the natives import gets a stub that returns success; the entry points in null_cuda.c behave (handles, fake
# addresses, counters, the NULL_CUDA_TRACE file).
# Use: native-tests/null-cuda/build.sh native-tests/build/null-cuda
#      LD_LIBRARY_PATH=native-tests/build/null-cuda java -jar target/gpu-lenet.jar train --device cuda --epochs 2
# The epoch's "train X s" is then the host cost of the GPU path (no kernel runs; losses are 0).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out_arg=${1:-$root/native-tests/build/null-cuda}
jar=${2:-$root/target/gpu-lenet.jar}
out=$(mkdir -p "$out_arg" && cd "$out_arg" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v cc >/dev/null || { echo "null-cuda: a C compiler (cc) is needed" >&2; exit 2; }

# The JCuda natives: from the jar when it has them, else from the Maven repository.
[ -f "$jar" ] && jar=$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")
if [ -f "$jar" ] && unzip -l "$jar" 'lib/libJCudaDriver-*.so' >/dev/null 2>&1; then
  (cd "$tmp" && unzip -q -o "$jar" 'lib/libJCudaDriver-*.so' 'lib/libJCublas2-*.so' 'lib/libJCudnn-*.so')
  source="$jar"
else
  m2=${M2_REPO:-$HOME/.m2/repository}/org/jcuda
  for lib in jcuda jcublas jcudnn; do
    natives=$(ls "$m2/$lib-natives"/*/"$lib-natives"-*-linux-x86_64.jar 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$natives" ] || { echo "null-cuda: no JCuda natives in $jar nor under $m2 (build the jar first: make jar)" >&2; exit 2; }
    (cd "$tmp" && unzip -q -o "$natives" '*.so')
  done
  source="$m2"
fi

# Every cu*/cublas*/cudnn* symbol a native imports, less those null_cuda.c defines, becomes `int NAME(void){return 0;}`.
undef() { find "$tmp" -name "$1" -exec nm -D --undefined-only {} \; | awk '{print $NF}' | grep -E "$2" | sed 's/@.*//' | sort -u; }
defined() { grep -o -E '^(int|size_t|const char \*) ?[A-Za-z0-9_]+\(' "$here/null_cuda.c" | sed -E 's/^(int|size_t|const char \*) ?//; s/\($//' | sort -u; }
stubs() { grep -v -x -F -f "$tmp/defined" | sed 's/.*/int &(void){return 0;}/' || true; }
defined >"$tmp/defined"
{ echo '#define NULL_CUDA_DRIVER'; cat "$here/null_cuda.c"; undef 'libJCudaDriver*' '^cu[A-Z]' | stubs; } >"$tmp/driver.c"
{ echo '#define NULL_CUDA_CUBLAS'; cat "$here/null_cuda.c"; undef 'libJCublas2*' '^cublas' | stubs; } >"$tmp/cublas.c"
cc -O2 -shared -fPIC -w -Wl,-soname,libcuda.so.1 -o "$out/libcuda.so.1" "$tmp/driver.c"
# libcublas.so.12 links libcuda.so.1 (the same one, found beside it), so its GEMMs land in the same counters.
# JCublas2 asks for its symbols at version "libcublas.so.12", as the real library defines them.
echo 'libcublas.so.12 { global: *; };' >"$tmp/cublas.map"
cc -O2 -shared -fPIC -w -Wl,-soname,libcublas.so.12 -Wl,--version-script,"$tmp/cublas.map" -o "$out/libcublas.so.12" \
   "$tmp/cublas.c" "$out/libcuda.so.1" -Wl,-rpath,'$ORIGIN'
# JCudnn's 12.6.0 natives import versioned symbols (cudnnCreate@libcudnn.so.9): without the version node
# ld.so aborts in check_match.
{ echo '#define NULL_CUDA_CUDNN'; cat "$here/null_cuda.c"; undef 'libJCudnn*' '^cudnn' | stubs; } >"$tmp/cudnn.c"
echo 'libcudnn.so.9 { global: *; };' >"$tmp/cudnn.map"
cc -O2 -shared -fPIC -w -Wl,-soname,libcudnn.so.9 -Wl,--version-script,"$tmp/cudnn.map" -o "$out/libcudnn.so.9" "$tmp/cudnn.c"
echo "null-cuda: built $out/libcuda.so.1, libcublas.so.12 and libcudnn.so.9 for the JCuda natives of $source"
