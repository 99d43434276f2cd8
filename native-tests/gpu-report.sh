#!/usr/bin/env bash
# gpu-report.sh: confirms and times gpu-lenet's GPU path in one run on a machine with an NVIDIA GPU, the CUDA
# toolkit (nvcc) and PyTorch, without Java or a network: the device bundle (make device-bundle) carries a
# Java runtime, the jar, the PyTorch reference script and the kernel test sources; this script is its entry.
#
#   OUT=/some/dir ./gpu-report.sh        (in the unpacked bundle; make gpu-report OUT=... does the same)
#
# Steps, in order of importance, each under its own time limit, all within BUDGET_S seconds (default 450;
# a step that no longer fits is recorded as skipped): the machine (nvidia-smi, nvcc, PyTorch, CPU); the
# kernel tests built by nvcc and run on the GPU, with their timings; `info`; `selftest`; a per-kernel time
# of one training step and the launches per step (CUDA events around every launch of a --no-graph run, GPULENET_CUDA_EVENTS;
# nsys or ncu as well when present and time remains); the default `train --device cuda` (per-epoch time
# and accuracy); `bench` at batch 64, 256 and 1024 with PyTorch alongside (--pytorch); PyTorch's reference
# script in eager, graph and compile modes at batch 64 and 256; two epochs of `train --no-graph` (every kernel
# launched, to set against the graph replays of the default run); and, when time remains, the other GEMM
# (the sgemm kernel where cuBLAS loaded, cuBLAS from PyTorch's libcublas.so.12 where it did not).
# Everything goes into $OUT/gpu-report.json and $OUT/gpu-report.log, each step's output into
# $OUT/steps/. Environment: OUT (required), BUDGET_S, LIMIT_SCALE (1: multiplies every step's limit), PYTHON
# (python3), NVCC (nvcc), JAVA (default: the bundle's).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
self=$here/$(basename "$0")

# ---- sub-commands (run under `timeout` by the steps below) ----
if [ "${1:-}" = "__native-build" ]; then
  # every test_*.cu built by nvcc with the Makefile's flags, in parallel; prints each build's seconds
  build=$2; mkdir -p "$build"
  flags=$(cat "$here/src/native-tests/nvcc-test-flags" 2>/dev/null || echo "-O2 -std=c++17 -gencode arch=compute_75,code=compute_75")
  export flags build NVCC_BIN
  ls "$here"/src/native-tests/test_*.cu | xargs -P "$(nproc)" -I{} bash -c '
    src={}; name=$(basename "$src" .cu); t0=$(date +%s.%N)
    if $NVCC_BIN $flags -o "$build/$name" "$src" >"$build/$name.build.log" 2>&1; then rc=0; else rc=$?; fi
    echo "$name build rc=$rc $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN {printf \"%.1f\", b - a}") s"
    cat "$build/$name.build.log"; exit 0'
  exit 0
fi

if [ "${1:-}" = "__machine" ]; then
  # what the figures were measured on ($java, $py and $NVCC_BIN come from the report's environment)
  echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader
    nvidia-smi | head -n 4 | tail -n 2
  else echo "nvidia-smi: not found"; fi
  if command -v "$NVCC_BIN" >/dev/null 2>&1; then "$NVCC_BIN" --version | tail -n 2; else echo "nvcc: not found"; fi
  "$java" -version 2>&1 | head -n 1
  "$py" -c 'import json, torch; c = torch.cuda.is_available(); print("torch: " + json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "cuda_available": c, "device": torch.cuda.get_device_name(0) if c else None}))' 2>&1 | tail -n 1
  for lib in libcublas.so.12 libcublas.so.13; do
    found=$(ldconfig -p 2>/dev/null | grep -m1 "$lib" | awk '{print $NF}')
    [ -n "$found" ] || found=$(ls /usr/local/cuda*/lib64/"$lib" /usr/local/cuda*/targets/*/lib/"$lib" 2>/dev/null | head -n 1)
    echo "$lib: ${found:-not found (loader cache, /usr/local/cuda*)}"
  done
  for tool in nsys ncu; do
    if command -v "$tool" >/dev/null 2>&1; then echo "$tool: $(command -v "$tool")"; else echo "$tool: not found"; fi
  done
  exit 0
fi

out=${OUT:?set OUT to the folder that receives the report}
mkdir -p "$out/steps" || exit 2
out=$(cd "$out" && pwd)
steps=$out/steps
log=$out/gpu-report.log
json=$out/gpu-report.json
budget=${BUDGET_S:-450}
# step limits are multiplied by this (a rehearsal on a small machine without a GPU needs more time per step)
scale=${LIMIT_SCALE:-1}
java=${JAVA:-}
jar=$here/gpu-lenet.jar
torch_ref=$here/torch_reference.py
py=${PYTHON:-python3}
NVCC_BIN=${NVCC:-nvcc}
command -v "$NVCC_BIN" >/dev/null 2>&1 || { [ -x /usr/local/cuda/bin/nvcc ] && NVCC_BIN=/usr/local/cuda/bin/nvcc; }
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-report.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
: >"$log"
: >"$steps/index.tsv"

remaining() { echo $((budget - ($(date +%s) - start))); }
say() { echo "$*" | tee -a "$log"; }

# run_step NAME LIMIT_S NEED_S COMMAND...: runs COMMAND under `timeout` (at most LIMIT_S, and never past the
# budget) unless fewer than NEED_S seconds are left; output to steps/NAME.out; status, seconds to the index.
run_step() {
  local name=$1 limit=$(($2 * scale)) need=$(($3 * scale)); shift 3
  local left; left=$(remaining)
  if [ "$left" -lt "$need" ]; then
    printf '%s\tskipped\t0\t%s\n' "$name" "$left" >>"$steps/index.tsv"
    say "== $name: skipped ($left s of the budget left, needs $need)"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  say "== $name (limit ${limit} s): $*"
  local t0 t1 rc
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" >"$steps/$name.out" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
  [ "$rc" = 124 ] && say "   (timed out after $limit s)"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$secs" "$limit" >>"$steps/index.tsv"
  cat "$steps/$name.out" >>"$log"
  say "-- $name: rc $rc in $secs s"
}

say "gpu-report: $(date -u +%Y-%m-%dT%H:%M:%SZ), bundle $here, budget $budget s, output $out"
# the bundle's Java runtime: unpacked (jre/), or packed (jre.tar.gz) and unpacked here into the temporary folder
if [ -z "$java" ]; then
  if [ -x "$here/jre/bin/java" ]; then java=$here/jre/bin/java
  elif [ -f "$here/jre.tar.gz" ]; then tar -C "$work" -xzf "$here/jre.tar.gz" && java=$work/jre/bin/java
  fi
fi
[ -n "$java" ] && [ -x "$java" ] || { say "gpu-report: no Java runtime in $here (make device-bundle packs one), nor JAVA set"; exit 2; }

# ---- 1. the machine ----
export java py NVCC_BIN
run_step machine 30 5 "$self" __machine

# ---- 2. the kernel tests, built by nvcc and run on the GPU ----
if command -v "$NVCC_BIN" >/dev/null 2>&1; then
  run_step native-build 240 60 env NVCC_BIN="$NVCC_BIN" "$self" __native-build "$work/native"
  for t in "$work"/native/test_*; do
    [ -x "$t" ] || continue
    run_step "native-$(basename "$t")" 60 10 "$t"
  done
else
  printf 'native-build\tskipped\t0\tno nvcc\n' >>"$steps/index.tsv"; say "== native-build: skipped (no nvcc)"
fi

# ---- 3. info and selftest ----
run_step info 60 10 "$java" -jar "$jar" info
run_step selftest 120 20 "$java" -jar "$jar" selftest

# ---- 4. one training step, kernel by kernel: CUDA events around every launch (windows between read-backs);
# --no-graph, since a replayed graph is one launch whose kernels no event can separate ----
rm -f "$out/events.jsonl"
run_step profile-events 120 20 env GPULENET_CUDA_EVENTS="$out/events.jsonl" \
  "$java" -jar "$jar" train --device cuda --epochs 1 --log-interval 100 --no-graph

# ---- 5. the default training run on the GPU (each step one CUDA graph launch), then two epochs without graphs ----
run_step train 240 30 "$java" -jar "$jar" train --device cuda
run_step train-no-graph 90 20 "$java" -jar "$jar" train --device cuda --epochs 2 --no-graph

# ---- 6. bench at 64, 256 and 1024, PyTorch alongside ----
run_step bench 360 60 "$java" -jar "$jar" bench --batch-sizes 64,256,1024 --json "$out/bench.json" \
  --pytorch "$py $torch_ref"

# ---- 7. PyTorch's reference script: eager, graph and compile, batch 64 and 256 ----
mnist=$work/mnist
"$py" - "$jar" "$mnist" <<'PYEOF' >>"$log" 2>&1 || say "gpu-report: could not extract MNIST from the jar"
import os, sys, zipfile
jar, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(jar) as z:
    for n in z.namelist():
        if n.startswith('mnist/') and n.endswith('.gz'):
            with open(os.path.join(dest, os.path.basename(n)), 'wb') as f:
                f.write(z.read(n))
PYEOF
for mode in eager graph compile; do
  for b in 64 256; do
    limit=90; need=30
    [ "$mode" = compile ] && { limit=200; need=60; }
    run_step "torch-$mode-$b" "$limit" "$need" "$py" "$torch_ref" --data "$mnist" --device cuda --mode "$mode" \
      --batch "$b" --epochs 2
  done
done

# ---- 8. when time remains: nsys or ncu on a training epoch ----
if command -v nsys >/dev/null 2>&1; then
  run_step profile-nsys 150 60 nsys profile --trace=cuda --sample=none --cpuctxsw=none --force-overwrite=true \
    -o "$work/train" "$java" -jar "$jar" train --device cuda --epochs 1 --log-interval 100
  if [ -f "$work/train.nsys-rep" ]; then
    run_step profile-nsys-stats 60 15 nsys stats --report cuda_gpu_kern_sum --format csv --force-export=true \
      --output "$out/nsys" "$work/train.nsys-rep"
  fi
elif command -v ncu >/dev/null 2>&1; then
  # one training step in the second hundred of steps (about 20-30 launches a step)
  run_step profile-ncu 150 60 ncu --metrics gpu__time_duration.sum --csv --launch-skip 3000 --launch-count 60 \
    "$java" -jar "$jar" train --device cuda --epochs 1 --log-interval 100
fi

# ---- 9. when time remains: the other GEMM ----
if grep -q 'GEMM: cuBLAS' "$steps/info.out" 2>/dev/null; then
  run_step bench-gemm-kernel 150 45 "$java" -jar "$jar" bench --devices cuda --batch-sizes 64,256,1024 --gemm kernel \
    --json "$out/bench-gemm-kernel.json"
else
  # a libcublas.so.12 JCublas 12.6 could load: PyTorch's own (pip's nvidia-cublas-cu12), or a CUDA 12 toolkit's
  cublas_dir=$("$py" -c 'import os, nvidia.cublas as c; d = os.path.join(list(c.__path__)[0], "lib"); print(d if os.path.exists(os.path.join(d, "libcublas.so.12")) else "")' 2>/dev/null)
  [ -n "$cublas_dir" ] || cublas_dir=$(dirname "$(ls /usr/local/cuda*/lib64/libcublas.so.12 2>/dev/null | head -n 1)" 2>/dev/null)
  [ "$cublas_dir" = . ] && cublas_dir=
  if [ -n "$cublas_dir" ]; then
    run_step bench-gemm-cublas 150 45 env LD_LIBRARY_PATH="$cublas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      "$java" -jar "$jar" bench --devices cuda --batch-sizes 64,256,1024 --gemm cublas --json "$out/bench-gemm-cublas.json"
  else
    printf 'bench-gemm-other\tskipped\t0\tno libcublas.so.12\n' >>"$steps/index.tsv"
    say "== bench-gemm-other: skipped (cuBLAS did not load and no libcublas.so.12 was found)"
  fi
fi

# ---- the report: one JSON from the steps' outputs ----
say "gpu-report: $(( $(date +%s) - start )) s in all; writing $json"
"$py" - "$out" "$budget" <<'PYEOF' 2>>"$log" || say "gpu-report: writing the JSON failed (see above); the log and steps/ hold everything"
import csv, json, os, re, statistics, sys

out, budget = sys.argv[1], int(sys.argv[2])
steps_dir = os.path.join(out, 'steps')

def text(name):
    try:
        with open(os.path.join(steps_dir, name + '.out'), errors='replace') as f:
            return f.read()
    except OSError:
        return None

index = []
with open(os.path.join(steps_dir, 'index.tsv')) as f:
    for line in f:
        name, rc, secs, limit = (line.rstrip('\n').split('\t') + ['', '', '', ''])[:4]
        index.append({'step': name, 'status': 'skipped' if rc == 'skipped' else ('ok' if rc == '0' else
                      ('timed out' if rc == '124' else 'failed')), 'rc': None if rc == 'skipped' else int(rc),
                      'seconds': float(secs or 0), 'limit_or_reason': limit})
status = {s['step']: s for s in index}
report = {'what': 'gpu-lenet GPU report', 'budget_s': budget, 'steps': index}

m = text('machine') or ''
report['machine'] = {'lines': m.strip().splitlines()}
t = re.search(r'^torch: (\{.*\})$', m, re.M)
if t:
    report['machine']['torch'] = json.loads(t.group(1))

# kernel tests: pass/fail per test and the timing lines they print
native = {}
build = text('native-build') or ''
for mm in re.finditer(r'^(test_\w+) build rc=(\d+) ([\d.]+) s', build, re.M):
    native[mm.group(1)] = {'build_rc': int(mm.group(2)), 'build_s': float(mm.group(3))}
for s in index:
    if s['step'].startswith('native-test_'):
        name = s['step'][len('native-'):]
        o = text(s['step']) or ''
        native.setdefault(name, {}).update({'status': s['status'], 'seconds': s['seconds'],
            'timings': [l.strip() for l in o.splitlines() if re.search(r'GB/s|GFLOP/s|\bus\b|ms\b', l)]})
report['native_tests'] = {'passed': sum(1 for v in native.values() if v.get('status') == 'ok'),
                          'failed': sum(1 for v in native.values() if v.get('status') in ('failed', 'timed out')
                                        or v.get('build_rc', 0) != 0),
                          'tests': native}

info = text('info') or ''
report['info'] = {'lines': info.strip().splitlines()}
gemm = re.search(r'^(GEMM: .*)$', info, re.M)
report['gemm'] = gemm.group(1) if gemm else None
sf = text('selftest') or ''
report['selftest'] = {'status': status.get('selftest', {}).get('status'), 'tail': sf.strip().splitlines()[-15:]}

def epochs(o):
    rows, acc = [], None
    for line in (o or '').splitlines():
        a = re.match(r'Test set: Average loss: ([\d.]+), Accuracy: (\d+)/(\d+) \(([\d.]+)%\)', line)
        if a:
            acc = (float(a.group(1)), int(a.group(2)), int(a.group(3)), float(a.group(4)))
        e = re.match(r'Epoch (\d+): train ([\d.]+) s, (\d+) images/s, lr ([\d.eE-]+), train loss ([\d.]+); eval ([\d.]+) s', line)
        if e:
            rows.append({'epoch': int(e.group(1)), 'train_s': float(e.group(2)), 'images_per_s': int(e.group(3)),
                         'lr': float(e.group(4)), 'train_loss': float(e.group(5)), 'eval_s': float(e.group(6)),
                         'test_loss': acc[0] if acc else None, 'test_accuracy_pct': acc[3] if acc else None})
    return rows
tr = text('train') or ''
dev = re.search(r'^Device: (.*)$', tr, re.M)
rows = epochs(tr)
report['train'] = {'status': status.get('train', {}).get('status'), 'device': dev.group(1) if dev else None,
                   'epochs': rows,
                   'warm_epoch_train_s_median': statistics.median([r['train_s'] for r in rows[1:]]) if len(rows) > 1 else None,
                   'final_test_accuracy_pct': rows[-1]['test_accuracy_pct'] if rows else None}
ng = epochs(text('train-no-graph') or '')
report['train_no_graph'] = {'status': status.get('train-no-graph', {}).get('status'), 'epochs': ng,
                            'warm_epoch_train_s': ng[-1]['train_s'] if len(ng) > 1 else None}

def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
report['bench'] = {'status': status.get('bench', {}).get('status'), 'json': load_json(os.path.join(out, 'bench.json')),
                   'table': [l for l in (text('bench') or '').splitlines() if re.match(r'^(device|cpu|cuda)\s', l)]}
for name in ('bench-gemm-kernel', 'bench-gemm-cublas'):
    if name in status:
        report[name.replace('-', '_')] = {'status': status[name]['status'], 'json': load_json(os.path.join(out, name + '.json'))}

torch_runs = []
for s in index:
    if s['step'].startswith('torch-'):
        _, mode, b = s['step'].split('-')
        lines = [json.loads(l) for l in (text(s['step']) or '').splitlines() if l.startswith('{')]
        torch_runs.append({'mode': mode, 'batch': int(b), 'status': s['status'], 'epochs': lines,
                           'warm_images_per_s': lines[-1]['images_per_s'] if len(lines) > 1 else None,
                           'error': None if lines else (text(s['step']) or '').strip().splitlines()[-1:]})
report['pytorch_modes'] = torch_runs

# per-kernel time of one step: the event windows that hold exactly 100 training steps (a log interval)
windows = []
try:
    with open(os.path.join(out, 'events.jsonl')) as f:
        windows = [json.loads(l) for l in f if l.strip()]
except OSError:
    pass
train_windows = [w for w in windows
                 if w['kernels'].get('gather_normalize', {}).get('launches') == 100
                 and (w['kernels'].get('sgd_momentum', {}).get('launches') == 100
                      or w['kernels'].get('adam_update', {}).get('launches') == 100)]
per_step = {}
if len(train_windows) > 2:
    train_windows = train_windows[1:]   # the first hundred steps include the driver's JIT of the PTX
for w in train_windows:
    for k, v in w['kernels'].items():
        per_step.setdefault(k, {'launches': [], 'us': []})
        per_step[k]['launches'].append(v['launches'] / 100)
        per_step[k]['us'].append(v['ms'] * 1000 / 100)
kernels = {k: {'launches_per_step': statistics.median(v['launches']), 'us_per_step': round(statistics.median(v['us']), 3)}
           for k, v in per_step.items()}
report['step_profile'] = {
    'method': 'CUDA events around every launch and GEMM (GPULENET_CUDA_EVENTS), median over windows of 100 '
              'training steps between two loss read-backs; adds event records, so sums exceed a plain step',
    'windows_used': len(train_windows),
    'kernels': dict(sorted(kernels.items(), key=lambda kv: -kv[1]['us_per_step'])),
    'launches_per_step': round(sum(v['launches_per_step'] for k, v in kernels.items() if k != 'cublasSgemm'), 2),
    'gemm_calls_per_step': kernels.get('cublasSgemm', {}).get('launches_per_step', 0),
    'kernel_us_per_step_sum': round(sum(v['us_per_step'] for v in kernels.values()), 2)}
nsys_csv = [p for p in os.listdir(out) if p.startswith('nsys') and p.endswith('.csv')]
if nsys_csv:
    with open(os.path.join(out, nsys_csv[0])) as f:
        report['step_profile']['nsys_kernel_summary_whole_epoch_with_eval'] = list(csv.DictReader(f))
ncu = text('profile-ncu')
if ncu:
    report['step_profile']['ncu_csv'] = [l for l in ncu.splitlines() if l.startswith('"')]

report['summary'] = {
    'gemm': report['gemm'],
    'native_tests': f"{report['native_tests']['passed']} passed, {report['native_tests']['failed']} failed",
    'selftest': report['selftest']['status'],
    'train_final_accuracy_pct': report['train']['final_test_accuracy_pct'],
    'train_warm_epoch_s': report['train']['warm_epoch_train_s_median'],
    'train_no_graph_warm_epoch_s': report['train_no_graph']['warm_epoch_train_s'],
    'bench_rows': [{k: r.get(k) for k in ('device', 'batch_size', 'images_per_second', 'pytorch_images_per_second',
                                          'ratio_to_pytorch', 'test_accuracy')}
                   for r in ((report['bench']['json'] or {}).get('rows') or [])],
    'pytorch_warm_images_per_s': {f"{r['mode']}-{r['batch']}": r['warm_images_per_s'] for r in torch_runs},
    'launches_per_step': report['step_profile']['launches_per_step'],
    'kernel_us_per_step': report['step_profile']['kernel_us_per_step_sum'],
    'steps_not_ok': [s['step'] + ': ' + s['status'] for s in index if s['status'] != 'ok']}
with open(os.path.join(out, 'gpu-report.json'), 'w') as f:
    json.dump(report, f, indent=1)
print(json.dumps(report['summary'], indent=1))
PYEOF
say "gpu-report: done: $json, $log"
