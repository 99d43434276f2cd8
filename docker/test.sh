#!/usr/bin/env bash
# make docker-test: builds the image (docker/build.sh) and runs the jar's commands in it on this machine,
# without a GPU, against a bind-mounted /work: each step prints ok or FAIL and what it checked, then the
# image's size; the exit status is 1 when a step failed. Needs root where podman or mmdebstrap must be
# installed, and minutes (the first build, tens of them).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export IMAGE=${IMAGE:-gpu-lenet}

build_log=$(mktemp /tmp/gpu-lenet-docker-build.XXXXXX.log)
echo "docker-test: building $IMAGE (log: $build_log)"
start=$SECONDS
if ! engine=$(docker/build.sh 2>"$build_log" | tail -n 1) || [ -z "$engine" ]; then
  tail -n 30 "$build_log" | sed 's/^/    /'
  echo "docker-test: FAIL build (log: $build_log)"
  exit 1
fi
grep '^docker-build: ' "$build_log"
echo "docker-test: ok   build: $IMAGE by $engine in $((SECONDS - start)) s"
rm -f "$build_log"
[ "$engine" = podman ] && export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/docker/containers.conf}

# The mount: owned by the image's user (uid 1000), as a host user's own folder would be.
work=$(mktemp -d /tmp/gpu-lenet-docker-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp docker/mnist-test-0.png "$work/"
chown 1000:1000 "$work"
logs=$work/logs
mkdir "$logs"
chmod 755 "$work"

failed=0
# step NAME EXPECTED_EXIT RUN_OPTIONS -- JAR_ARGS...: runs the jar in a container; stdout and stderr go to
# $logs/NAME.out and .err, and $logs/NAME.rc holds the exit status. Prints FAIL when the status differs.
step() {
  local name=$1 expect=$2; shift 2
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  local start=$SECONDS rc
  "$engine" run --rm -v "$work:/work" "${opts[@]}" "$IMAGE" "$@" >"$logs/$name.out" 2>"$logs/$name.err"
  rc=$?
  echo "$rc" >"$logs/$name.rc"
  if [ "$rc" != "$expect" ]; then
    report "$name" 1 "exit $rc, expected $expect ($((SECONDS - start)) s); its output:"
    tail -n 20 "$logs/$name.out" "$logs/$name.err" | sed 's/^/    /'
    return 1
  fi
  echo "$((SECONDS - start))" >"$logs/$name.s"
}
# report NAME STATUS TEXT: one result line.
report() {
  if [ "$2" = 0 ]; then echo "docker-test: ok   $1: $3"; else echo "docker-test: FAIL $1: $3"; failed=1; fi
}
secs() { cat "$logs/$1.s"; }
# check NAME TEXT COMMAND...: reports NAME ok with TEXT when COMMAND succeeds.
check() {
  local name=$1 text=$2; shift 2
  if "$@"; then report "$name" 0 "$text"; else report "$name" 1 "$text: not so; output:"; sed 's/^/    /' "$logs/$name.out" "$logs/$name.err" | tail -n 20; fi
}
one_line() {
  grep -v '^null-cuda: ' "$logs/$1.err" >"$logs/$1.err1"
  [ "$(wc -l <"$logs/$1.err1")" = 1 ] && ! grep -q 'Exception\|^\s*at ' "$logs/$1.err1"
}
owner_mode() { stat -c '%u %a' "$1"; }

if step info 0 -- info; then
  check info "no GPU, because: $(grep -i -m 1 'cuda' "$logs/info.out" | sed 's/^ *//') ($(secs info) s)" \
    grep -q 'libcuda.so.1' "$logs/info.out"
fi

if step dry-run 0 -- train --dry-run; then
  check dry-run "$(grep -i -m 1 'accuracy' "$logs/dry-run.out" | sed 's/^ *//') ($(secs dry-run) s)" \
    grep -qi 'accuracy' "$logs/dry-run.out"
fi

if step train 0 -- train --epochs 1 --save /work/m.safetensors --plot /work/run.png; then
  check train "1 epoch, $(grep -i -m 1 'accuracy' "$logs/train.out" | sed 's/^ *//'); m.safetensors and run.png on the host, uid 1000, mode 644 ($(secs train) s)" \
    test "$(owner_mode "$work/m.safetensors")" = "1000 644" -a "$(owner_mode "$work/run.png")" = "1000 644" \
    -a "$(head -c 4 "$work/run.png" | tail -c 3)" = PNG
fi

if step eval 0 -- eval --checkpoint /work/m.safetensors; then
  check eval "$(grep -i -m 1 'accuracy' "$logs/eval.out" | sed 's/^ *//') ($(secs eval) s)" \
    grep -qi 'accuracy' "$logs/eval.out"
fi

# MNIST's first test image, a 7, as a PNG file.
if step predict 0 -- predict --json --checkpoint /work/m.safetensors /work/mnist-test-0.png; then
  check predict "mnist-test-0.png (a 7): $(cat "$logs/predict.out") ($(secs predict) s)" \
    grep -q '"prediction": *7' "$logs/predict.out"
fi

if step export 0 -- export --checkpoint /work/m.safetensors --onnx /work/m.onnx; then
  check export "m.onnx, $(stat -c %s "$work/m.onnx" 2>/dev/null) bytes ($(secs export) s)" test -s "$work/m.onnx"
fi

if step bench 0 -- bench --devices cpu --json /work/bench.json; then
  check bench "$(grep -m 1 -A 1 'images/s' "$logs/bench.out" | tail -n 1 | tr -s ' ' | sed 's/^ //') ($(secs bench) s)" \
    test -s "$work/bench.json"
fi

if step bad-flag 2 -- train --no-such-flag; then
  check bad-flag "exit 2, one line: $(cat "$logs/bad-flag.err")" one_line bad-flag
fi

# No NVIDIA container toolkit (or no --gpus): the container has no libcuda.so.1.
if step no-toolkit 2 -- train --device cuda --dry-run; then
  check no-toolkit "exit 2, one line: $(cat "$logs/no-toolkit.err")" \
    eval 'one_line no-toolkit && grep -q "libcuda.so.1" "$logs/no-toolkit.err" && grep -q -- "--gpus" "$logs/no-toolkit.err"'
fi

# A driver too old for the image's PTX, and one whose cuInit fails: native-tests/null-cuda's no-op driver,
# built for the JCuda natives of the image's jar, with docker/old-driver.c preloaded over it (null-cuda's
# own line at exit is left out of the one-line count).
drv=$(mktemp -d /tmp/gpu-lenet-old-driver.XXXXXX)
trap 'rm -rf "$work" "$drv"' EXIT
chmod 755 "$drv"
cid=$("$engine" create "$IMAGE") && "$engine" cp "$cid:/opt/gpu-lenet/gpu-lenet.jar" "$drv/gpu-lenet.jar" \
  && "$engine" rm "$cid" >/dev/null \
  && native-tests/null-cuda/build.sh "$drv" "$drv/gpu-lenet.jar" >"$logs/null-cuda.out" 2>&1 \
  && cc -O2 -shared -fPIC -o "$drv/old-driver.so" docker/old-driver.c \
  || report old-driver 1 "building the stand-in driver failed: $(tail -n 3 "$logs/null-cuda.out" 2>/dev/null)"
old_driver=(-v "$drv:/opt/old-driver:ro" -e LD_LIBRARY_PATH=/opt/old-driver -e LD_PRELOAD=/opt/old-driver/old-driver.so)
if step old-driver 2 "${old_driver[@]}" -- train --device cuda --dry-run; then
  check old-driver "driver r535 (CUDA 12.2): exit 2, one line: $(grep -v '^null-cuda: ' "$logs/old-driver.err")" \
    eval 'one_line old-driver && grep -q "CUDA_ERROR_UNSUPPORTED_PTX_VERSION" "$logs/old-driver.err" && grep -q "update the NVIDIA driver" "$logs/old-driver.err"'
fi
if step driver-mismatch 2 "${old_driver[@]}" -e OLD_DRIVER_CUINIT=803 -- train --device cuda --dry-run; then
  check driver-mismatch "cuInit refused: exit 2, one line: $(grep -v '^null-cuda: ' "$logs/driver-mismatch.err")" \
    eval 'one_line driver-mismatch && grep -q "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH" "$logs/driver-mismatch.err" && grep -q "reboot" "$logs/driver-mismatch.err"'
fi

# Another host user: --user with their uid, on a folder of theirs; Java runs without a passwd entry.
mkdir "$work/other" && chown 4242:4242 "$work/other"
if step other-user 0 --user 4242:4242 -- train --dry-run --save /work/other/d.safetensors; then
  check other-user "--user 4242:4242 wrote other/d.safetensors as uid 4242, mode 644" \
    test "$(owner_mode "$work/other/d.safetensors")" = "4242 644"
fi

# The default user on a folder it may not write: refused before any work, one line.
mkdir "$work/locked"
if step not-writable 2 -- train --dry-run --save /work/locked/d.safetensors; then
  check not-writable "exit 2, one line: $(cat "$logs/not-writable.err")" \
    eval 'one_line not-writable && grep -qi "permission denied" "$logs/not-writable.err"'
fi

size=$("$engine" image inspect --format '{{.Size}}' "$IMAGE")
echo "docker-test: image $IMAGE ($engine): $((size / 1000000)) MB"
if [ $failed = 0 ]; then echo "docker-test: all steps passed"; else echo "docker-test: FAILED"; fi
exit $failed
