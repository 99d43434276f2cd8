#!/usr/bin/env bash
# Packs what a GPU machine without Java or a network needs to run native-tests/gpu-report.sh into one folder
# (default device-bundle/, ignored by git): a jlink'd Java runtime of the modules jdeps lists for the jar, as
# jre.tar.gz (45 MiB unpacked, most of it libjvm.so, which gzip halves; the report unpacks it into a temporary
# folder in a second), the jar less the natives the GPU path never loads (the PTX compiler and NVRTC of JCuda,
# other platforms' terminal libraries), the PyTorch reference script, the kernels and their tests' sources (the
# report builds them with nvcc), and the report script. Records in glibc-needed the newest GLIBC_ symbol
# version that the runtime's and the jar's native libraries ask for (the oldest glibc the bundle runs on; the
# report's pre-flight compares it with the machine's). Fails when the folder exceeds BUNDLE_MAX_MIB (default
# 60) MiB.
# Environment: JAR (default target/gpu-lenet.jar), NVCC_TEST_FLAGS (the Makefile passes its own), PYTHON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/device-bundle}
jar=${JAR:-$root/target/gpu-lenet.jar}
max_mib=${BUNDLE_MAX_MIB:-60}
py=${PYTHON:-python3}
[ -f "$jar" ] || { echo "device-bundle: $jar is missing (make jar)" >&2; exit 2; }
for tool in jdeps jlink "$py" objdump; do
  command -v "$tool" >/dev/null || { echo "device-bundle: $tool is needed (a JDK 17 and python3)" >&2; exit 2; }
done
tmp="$dest.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/src/kernels" "$tmp/src/native-tests/emu"

modules=$(jdeps --print-module-deps --ignore-missing-deps --multi-release 17 "$jar")
echo "device-bundle: jlink --add-modules $modules"
jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 --output "$tmp/jre"
# the runtime's native libraries without their symbol tables (the JDK's libjvm.so ships with them)
if command -v strip >/dev/null; then
  find "$tmp/jre" -name '*.so' -exec strip --strip-unneeded {} +
fi
"$tmp/jre/bin/java" -version 2>&1 | head -n 1
runtime_mib=$(du -sm "$tmp/jre" | cut -f1)
# the glibc the bundle needs: the newest GLIBC_ version any of its native libraries (the runtime's, the jar's) imports
mkdir "$tmp/natives"
(cd "$tmp/natives" && unzip -q -o "$jar" 'lib/*.so' 'org/jline/nativ/Linux/x86_64/*' 2>/dev/null || true)
glibc=0 glibc_file=
while IFS= read -r -d '' f; do
  v=$(objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  if [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$glibc" "$v" | sort -V | tail -n 1)" != "$glibc" ]; then glibc=$v glibc_file=$f; fi
done < <(find "$tmp/jre" "$tmp/natives" -type f \( -name '*.so' -o -path '*/bin/*' \) -print0)
[ "$glibc" != 0 ] || { echo "device-bundle: objdump found no GLIBC_ versions in the runtime" >&2; exit 1; }
echo "$glibc" >"$tmp/glibc-needed"
echo "device-bundle: the runtime and the jar's natives need glibc $glibc or newer (${glibc_file#"$tmp/"})"
rm -rf "$tmp/natives"
tar -C "$tmp" -czf "$tmp/jre.tar.gz" jre
rm -rf "$tmp/jre"

# the jar without natives the GPU path never loads
"$py" - "$jar" "$tmp/gpu-lenet.jar" <<'PYEOF'
import re, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
drop = re.compile(r'^(lib/libJNvPTXCompiler-|lib/libJNvrtc-|org/jline/nativ/(?!Linux/x86_64/)[^/]+/|META-INF/maven/)')
kept = dropped = 0
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        if drop.match(item.filename) and not item.is_dir():
            dropped += item.compress_size
            continue
        zout.writestr(item, zin.read(item.filename), compress_type=item.compress_type)
        kept += 1
print(f'device-bundle: jar: {kept} entries kept, {dropped / 2**20:.1f} MiB of unused natives left out')
PYEOF

cp "$root/src/main/python/torch_reference.py" "$tmp/"
cp "$root/native-tests/gpu-report.sh" "$tmp/"
cp "$root"/kernels/*.cu "$root"/kernels/*.cuh "$tmp/src/kernels/"
cp "$root"/native-tests/test_*.cu "$root/native-tests/harness.h" "$tmp/src/native-tests/"
cp "$root/native-tests/emu/cuda_emu.h" "$tmp/src/native-tests/emu/"
echo "${NVCC_TEST_FLAGS:--O2 -std=c++17 -gencode arch=compute_75,code=compute_75 -Werror all-warnings}" \
  >"$tmp/src/native-tests/nvcc-test-flags"
cat >"$tmp/README.txt" <<EOF
gpu-lenet device bundle, packed $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(basename "$jar") (SHA-256 $(sha256sum "$jar" | cut -c1-12)).
On a machine with an NVIDIA GPU, nvcc and PyTorch (no Java needed):

    OUT=/path/for/the/report bash gpu-report.sh       (or, in the repository: make gpu-report OUT=...)

It writes OUT/gpu-report.json and OUT/gpu-report.log (and each step's output under OUT/steps/), within
BUDGET_S seconds (default 450). jre.tar.gz is the Java runtime (the report unpacks it into a temporary
folder; by hand: tar -xzf jre.tar.gz && jre/bin/java -jar gpu-lenet.jar info). The runtime needs glibc
$glibc or newer (glibc-needed); the report's pre-flight says when the machine's is older.
EOF

rm -rf "$dest"
mv "$tmp" "$dest"
bytes=$(du -sb "$dest" | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
echo "device-bundle: $dest: $mib MiB (runtime $(du -sm "$dest/jre.tar.gz" | cut -f1) MiB packed, $runtime_mib MiB unpacked;" \
     "jar $(du -sm "$dest/gpu-lenet.jar" | cut -f1) MiB)"
if [ "$bytes" -gt $((max_mib * 1048576)) ]; then
  echo "device-bundle: over the limit of $max_mib MiB" >&2
  exit 1
fi
