#!/usr/bin/env bash
# gpu-report.sh: confirms and times gpu-lenet's GPU path in one run on a machine with an NVIDIA GPU, the CUDA
# toolkit (nvcc) and PyTorch, without Java or a network: the device bundle (make device-bundle) carries a
# Java runtime, the jar, the PyTorch reference script and the kernel test sources; this script is its entry.
#
#   OUT=/some/dir bash gpu-report.sh        (in the bundle's folder; `make gpu-report OUT=...` does the same)
#
# The steps are the table STEPS below, most valuable first, so that a run cut off early still holds the
# figures that matter most. Each runs under its own time limit, all within BUDGET_S seconds (default 450); a
# step that no longer fits, or whose requirement the pre-flight found missing, is recorded as skipped. After
# every step $OUT/gpu-report.json is rewritten from what the steps have left so far (with "complete": false
# until the end), beside $OUT/gpu-report.log and each step's output in $OUT/steps/.
# Environment: OUT (required), BUDGET_S, LIMIT_SCALE (1: multiplies every step's limit), PYTHON (python3),
# NVCC (nvcc), JAVA (default: the bundle's), CUDNN_DIR (the folder holding libcudnn.so.9; default: PyTorch's,
# found through python3).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
self=$here/$(basename "$0")

# ---- the steps: name, limit (s), the least time it is worth starting with (s), what it needs ----
# Requirements: java (the runtime starts), gpu (nvidia-smi answers), nvcc, torch (python3 imports it), cudnn
# (a folder holding libcudnn.so.9: CUDNN_DIR, else PyTorch's, see find_cudnn), and tool:NAME (NAME on the PATH). A step NAME runs the function step_NAME below. To add a step, add a line here
# (where its value puts it) and its function; the JSON lists every step's status under "steps".
STEPS="
preflight          30   5  -
machine            30   5  -
info               60  10  java
train             240  30  java
selftest          150  30  java
profile-events    120  20  java
bench             240  45  java
cudnn-selftest    150  30  java,cudnn
cudnn-bench       240  45  java,cudnn
native-tests      300  60  nvcc
torch-eager-64     90  30  torch
torch-graph-64     90  30  torch
torch-eager-256    90  30  torch
torch-graph-256    90  30  torch
torch-compile-64  200  60  torch
train-no-graph     90  20  java
profile-nsys      150  60  java,tool:nsys
bench-gemm-other  150  45  java
"
# The training runs' --log-interval: the profile keeps the event windows that hold this many steps.
LOG_INTERVAL=100

# ---- the steps' commands (run as `bash gpu-report.sh __step NAME` under `timeout`) ----
step_preflight() {
  # one line naming what is missing (every other step that can still runs), then what each check said
  local missing=() need have
  "$java" -version >"$work/java.txt" 2>&1 || missing+=("java (${java:-no runtime}: $(tail -n 1 "$work/java.txt"))")
  if ! command -v nvidia-smi >/dev/null 2>&1; then echo "not found" >"$work/smi.txt"; missing+=("gpu (nvidia-smi not found)")
  elif ! nvidia-smi -L >"$work/smi.txt" 2>&1; then missing+=("gpu (nvidia-smi: $(tail -n 1 "$work/smi.txt"))"); fi
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' >"$work/torch.txt" 2>&1 \
    || missing+=("torch ($py: $(tail -n 1 "$work/torch.txt"))")
  "$NVCC_BIN" --version >"$work/nvcc.txt" 2>&1 || missing+=("nvcc ($NVCC_BIN: $(tail -n 1 "$work/nvcc.txt"))")
  if [ -z "$cudnn_dir" ]; then missing+=("cudnn (no libcudnn.so.9 under $py's site-packages nvidia/ or torch/lib; set CUDNN_DIR)")
  elif [ ! -e "$cudnn_dir/libcudnn.so.9" ]; then missing+=("cudnn (CUDNN_DIR $cudnn_dir holds no libcudnn.so.9)"); fi
  need=$(cat "$here/glibc-needed" 2>/dev/null)
  have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -n "$need" ] && [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
    missing+=("glibc ($have here, the bundle's Java needs $need)")
  fi
  if [ ${#missing[@]} = 0 ]; then echo "preflight: nothing missing"; else
    printf 'preflight: missing: %s' "${missing[0]}"; printf '; %s' "${missing[@]:1}"; echo; fi
  echo "java: $(head -n 1 "$work/java.txt")"
  echo "gpu: $(head -n 1 "$work/smi.txt")"
  echo "torch: $(tail -n 1 "$work/torch.txt")"
  echo "nvcc: $(tail -n 1 "$work/nvcc.txt")"
  echo "cudnn: ${cudnn_dir:-not found}"
  echo "glibc: ${have:-unknown} (the bundle's Java needs ${need:-unknown})"
  [ ${#missing[@]} = 0 ]
}

step_machine() {
  echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader
    nvidia-smi | head -n 4 | tail -n 2
  else echo "nvidia-smi: not found"; fi
  "$py" -c 'import json, torch; c = torch.cuda.is_available(); print("torch: " + json.dumps({"version": torch.__version__, "cuda": torch.version.cuda, "cuda_available": c, "device": torch.cuda.get_device_name(0) if c else None}))' 2>&1 | tail -n 1
  local lib found tool
  for lib in libcublas.so.12 libcublas.so.13; do
    found=$(ldconfig -p 2>/dev/null | grep -m1 "$lib" | awk '{print $NF}')
    [ -n "$found" ] || found=$(ls /usr/local/cuda*/lib64/"$lib" /usr/local/cuda*/targets/*/lib/"$lib" 2>/dev/null | head -n 1)
    echo "$lib: ${found:-not found (loader cache, /usr/local/cuda*)}"
  done
  for tool in nsys ncu; do
    if command -v "$tool" >/dev/null 2>&1; then echo "$tool: $(command -v "$tool")"; else echo "$tool: not found"; fi
  done
}

step_info() { "$java" -jar "$jar" info; }

step_train() { "$java" -jar "$jar" train --device cuda --log-interval "$LOG_INTERVAL"; }

step_selftest() { "$java" -jar "$jar" selftest; }

# One training step, kernel by kernel: CUDA events around every launch (windows between read-backs);
# --no-graph, since a replayed graph is one launch whose kernels no event can separate.
step_profile-events() {
  rm -f "$out/events.jsonl"
  GPULENET_CUDA_EVENTS="$out/events.jsonl" "$java" -jar "$jar" train --device cuda --epochs 1 \
    --log-interval "$LOG_INTERVAL" --no-graph
}

# The GPU only (no CPU epochs), at batch 64, 256 and 1024, PyTorch on the GPU alongside when it imports.
step_bench() {
  local pytorch=()
  [ -n "${have_torch:-}" ] && pytorch=(--pytorch "$py $torch_ref")
  "$java" -jar "$jar" bench --devices cuda --batch-sizes 64,256,1024 --json "$out/bench.json" "${pytorch[@]}"
}

# --conv cudnn: cuDNN 9 from the folder the run resolved (cudnn_dir) ahead of the library path, for these steps only
with_cudnn() { LD_LIBRARY_PATH="$cudnn_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }

# the cuDNN version that loaded (info's line), then the networks and convolutions through cuDNN against the CPU
step_cudnn-selftest() {
  with_cudnn "$java" -jar "$jar" info | grep '^cuDNN: '
  with_cudnn "$java" -jar "$jar" selftest --conv cudnn
}

# the kernels and cuDNN timed side by side in one run, which prints cuDNN's images/s over the kernels' per batch
step_cudnn-bench() {
  with_cudnn "$java" -jar "$jar" bench --devices cuda,cuda-cudnn --batch-sizes 64,256,1024 --json "$out/cudnn-bench.json"
}

# Every test_*.cu built by nvcc with the Makefile's flags, in parallel, then each run on the GPU (60 s each).
step_native-tests() {
  local build=$work/native flags
  mkdir -p "$build"
  flags=$(cat "$here/src/native-tests/nvcc-test-flags" 2>/dev/null || echo "-O2 -std=c++17 -gencode arch=compute_75,code=compute_75")
  export flags build NVCC_BIN
  ls "$here"/src/native-tests/test_*.cu | xargs -P "$(nproc)" -I{} bash -c '
    src={}; name=$(basename "$src" .cu); t0=$(date +%s.%N)
    if $NVCC_BIN $flags -o "$build/$name" "$src" >"$build/$name.build.log" 2>&1; then rc=0; else rc=$?; fi
    echo "$name build rc=$rc $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN {printf \"%.1f\", b - a}") s"
    cat "$build/$name.build.log"; exit 0'
  local t name rc t0 failed=0
  for t in "$build"/test_*; do
    case $t in *.log) continue ;; esac
    name=$(basename "$t"); t0=$(date +%s.%N)
    echo "== $name"
    timeout --kill-after=5 60 "$t"; rc=$?
    [ "$rc" = 0 ] || failed=$((failed + 1))
    echo "$name run rc=$rc $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}') s"
  done
  [ "$failed" = 0 ]
}

# PyTorch's reference script on the GPU, two epochs; the step's name says the mode and the batch.
torch_run() {
  local mode=$1 batch=$2 mnist=$work/mnist
  [ -d "$mnist" ] || "$py" - "$jar" "$mnist" <<'PYEOF' || return 2
import os, sys, zipfile
jar, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest + '.tmp', exist_ok=True)
with zipfile.ZipFile(jar) as z:
    for n in z.namelist():
        if n.startswith('mnist/') and n.endswith('.gz'):
            with open(os.path.join(dest + '.tmp', os.path.basename(n)), 'wb') as f:
                f.write(z.read(n))
os.rename(dest + '.tmp', dest)
PYEOF
  "$py" "$torch_ref" --data "$mnist" --device cuda --mode "$mode" --batch "$batch" --epochs 2
}
step_torch-eager-64() { torch_run eager 64; }
step_torch-graph-64() { torch_run graph 64; }
step_torch-eager-256() { torch_run eager 256; }
step_torch-graph-256() { torch_run graph 256; }
step_torch-compile-64() { torch_run compile 64; }

# Every kernel launched, two epochs, to set against the graph replays of the default run.
step_train-no-graph() { "$java" -jar "$jar" train --device cuda --epochs 2 --no-graph --log-interval "$LOG_INTERVAL"; }

step_profile-nsys() {
  nsys profile --trace=cuda --sample=none --cpuctxsw=none --force-overwrite=true -o "$work/train" \
    "$java" -jar "$jar" train --device cuda --epochs 1 --log-interval "$LOG_INTERVAL" || return
  nsys stats --report cuda_gpu_kern_sum --format csv --force-export=true --output "$out/nsys" "$work/train.nsys-rep"
}

# The other GEMM: the sgemm kernel where cuBLAS loaded, else cuBLAS from a libcublas.so.12 JCublas 12.6 can
# load (PyTorch's own, pip's nvidia-cublas-cu12, or a CUDA 12 toolkit's).
step_bench-gemm-other() {
  if grep -q 'GEMM: cuBLAS' "$steps/info.out" 2>/dev/null; then
    "$java" -jar "$jar" bench --devices cuda --batch-sizes 64,256,1024 --gemm kernel --json "$out/bench-gemm-other.json"
    return
  fi
  local dir
  dir=$("$py" -c 'import os, nvidia.cublas as c; d = os.path.join(list(c.__path__)[0], "lib"); print(d if os.path.exists(os.path.join(d, "libcublas.so.12")) else "")' 2>/dev/null)
  [ -n "$dir" ] || dir=$(dirname "$(ls /usr/local/cuda*/lib64/libcublas.so.12 2>/dev/null | head -n 1)" 2>/dev/null)
  [ "$dir" = . ] && dir=
  [ -n "$dir" ] || { echo "bench-gemm-other: cuBLAS did not load and no libcublas.so.12 was found"; return 3; }
  LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$java" -jar "$jar" bench --devices cuda \
    --batch-sizes 64,256,1024 --gemm cublas --json "$out/bench-gemm-other.json"
}

# ---- the report: one JSON from the steps' outputs so far (python3; `bash gpu-report.sh __json`) ----
write_json() {
  "$py" - "$out" "$budget" "$1" "$LOG_INTERVAL" "$STEPS" <<'PYEOF'
import csv, json, os, re, statistics, sys

out, budget, complete, interval = sys.argv[1], int(sys.argv[2]), sys.argv[3] == 'complete', int(sys.argv[4])
planned = [line.split()[0] for line in sys.argv[5].splitlines() if line.strip()]
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
                      ('timed out' if rc in ('124', '137') else 'failed')), 'rc': None if rc == 'skipped' else int(rc),
                      'seconds': float(secs or 0), 'limit_or_reason': limit})
status = {s['step']: s for s in index}
report = {'what': 'gpu-lenet GPU report', 'complete': complete, 'budget_s': budget, 'planned_steps': planned,
          'steps': index}

pf = (text('preflight') or '').strip().splitlines()
report['preflight'] = {'status': status.get('preflight', {}).get('status'), 'missing': pf[0] if pf else None,
                       'lines': pf[1:]}
m = text('machine') or ''
report['machine'] = {'lines': m.strip().splitlines()}
t = re.search(r'^torch: (\{.*\})$', m, re.M)
if t:
    report['machine']['torch'] = json.loads(t.group(1))

info = text('info') or ''
report['info'] = {'status': status.get('info', {}).get('status'), 'lines': info.strip().splitlines()}
gemm = re.search(r'^(GEMM: .*)$', info, re.M)
report['gemm'] = gemm.group(1) if gemm else None

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
sf = text('selftest') or ''
report['selftest'] = {'status': status.get('selftest', {}).get('status'), 'tail': sf.strip().splitlines()[-15:]}

# per-kernel time of one step: the event windows that hold exactly LOG_INTERVAL training steps, recognised by
# what ends a step, the optimizer's kernel (eval windows have none, an epoch's last window fewer)
OPTIMIZER_KERNELS = ('sgd_momentum', 'adam_update')
windows = []
try:
    with open(os.path.join(out, 'events.jsonl')) as f:
        windows = [json.loads(l) for l in f if l.strip()]
except OSError:
    pass
train_windows = [w for w in windows
                 if sum(w['kernels'].get(k, {}).get('launches', 0) for k in OPTIMIZER_KERNELS) == interval]
if len(train_windows) > 2:
    train_windows = train_windows[1:]   # the first window includes the driver's JIT of the PTX
per_step = {}
for w in train_windows:
    for k, v in w['kernels'].items():
        per_step.setdefault(k, {'launches': [], 'us': []})
        per_step[k]['launches'].append(v['launches'] / interval)
        per_step[k]['us'].append(v['ms'] * 1000 / interval)
kernels = {k: {'launches_per_step': statistics.median(v['launches']), 'us_per_step': round(statistics.median(v['us']), 3)}
           for k, v in per_step.items()}
report['step_profile'] = {
    'status': status.get('profile-events', {}).get('status'),
    'method': f'CUDA events around every launch and GEMM (GPULENET_CUDA_EVENTS) of a --no-graph run, median over '
              f'the windows of {interval} training steps between two loss read-backs (those with {interval} '
              f'optimizer launches); adds event records, so sums exceed a plain step',
    'windows_seen': len(windows),
    'windows_used': len(train_windows),
    'kernels': dict(sorted(kernels.items(), key=lambda kv: -kv[1]['us_per_step'])),
    'launches_per_step': round(sum(v['launches_per_step'] for k, v in kernels.items() if k != 'cublasSgemm'), 2),
    'gemm_calls_per_step': kernels.get('cublasSgemm', {}).get('launches_per_step', 0),
    'kernel_us_per_step_sum': round(sum(v['us_per_step'] for v in kernels.values()), 2)}
nsys_csv = [p for p in os.listdir(out) if p.startswith('nsys') and p.endswith('.csv')]
if nsys_csv:
    with open(os.path.join(out, nsys_csv[0])) as f:
        report['step_profile']['nsys_kernel_summary_whole_epoch_with_eval'] = list(csv.DictReader(f))

def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
report['bench'] = {'status': status.get('bench', {}).get('status'), 'json': load_json(os.path.join(out, 'bench.json')),
                   'table': [l for l in (text('bench') or '').splitlines() if re.match(r'^(device|cpu|cuda)\s', l)]}

# --conv cudnn: the selftest's table (every check's PASS or FAIL) and the bench rows of the kernels beside cuDNN
cudnn_lib = re.search(r'^cudnn: (.*)$', text('preflight') or '', re.M)
cs = text('cudnn-selftest') or ''
checked = re.search(r'^Checked: +(.*)$', cs, re.M)
verdict = re.search(r'^(PASS|FAIL): (\d+) of (\d+) checks passed', cs, re.M)
table = [dict(zip(('op', 'shape', 'max_abs_err', 'max_rel_err', 'result'), mm.groups()))
         for mm in re.finditer(r'^(\S.*?) {2,}(\S.*?) {2,}(\S+) {2,}(\S+) {2,}(PASS|FAIL)$', cs, re.M)]
report['cudnn_selftest'] = {'status': status.get('cudnn-selftest', {}).get('status'),
                            'library_dir': cudnn_lib.group(1) if cudnn_lib else None,
                            'cudnn': (re.findall(r'^cuDNN: (.*)$', cs, re.M) or [None])[0],
                            'checked': checked.group(1) if checked else None,
                            'result': verdict.group(0) if verdict else None,
                            'passed': int(verdict.group(2)) if verdict else None,
                            'checks': int(verdict.group(3)) if verdict else None,
                            'failed_checks': [r for r in table if r['result'] == 'FAIL'],
                            'table': table}
cb = text('cudnn-bench') or ''
report['cudnn_bench'] = {'status': status.get('cudnn-bench', {}).get('status'),
                         'json': load_json(os.path.join(out, 'cudnn-bench.json')),
                         'table': [l for l in cb.splitlines() if re.match(r'^(device|cuda|cuda-cudnn)\s', l)],
                         'cudnn_vs_kernels': {int(mm.group(1)): float(mm.group(2)) for mm in
                                              re.finditer(r'^cuDNN vs kernels at batch (\d+): ([\d.]+)x the images/s$', cb, re.M)}}

native = {}
no = text('native-tests') or ''
for mm in re.finditer(r'^(test_\w+) build rc=(\d+) ([\d.]+) s', no, re.M):
    native[mm.group(1)] = {'build_rc': int(mm.group(2)), 'build_s': float(mm.group(3))}
for mm in re.finditer(r'^== (test_\w+)\n(.*?)^\1 run rc=(\d+) ([\d.]+) s', no, re.M | re.S):
    native.setdefault(mm.group(1), {}).update({'run_rc': int(mm.group(3)), 'seconds': float(mm.group(4)),
        'timings': [l.strip() for l in mm.group(2).splitlines() if re.search(r'GB/s|GFLOP/s|\bus\b|ms\b', l)]})
report['native_tests'] = {'status': status.get('native-tests', {}).get('status'),
                          'passed': sum(1 for v in native.values() if v.get('run_rc') == 0),
                          'failed': sum(1 for v in native.values() if v.get('run_rc', 0) != 0 or v.get('build_rc', 0) != 0),
                          'tests': native}

torch_runs = []
for s in index:
    if s['step'].startswith('torch-'):
        _, mode, b = s['step'].split('-')
        lines = [json.loads(l) for l in (text(s['step']) or '').splitlines() if l.startswith('{')]
        torch_runs.append({'mode': mode, 'batch': int(b), 'status': s['status'], 'epochs': lines,
                           'warm_images_per_s': lines[-1].get('images_per_s') if len(lines) > 1 else None,
                           'error': None if lines else (text(s['step']) or '').strip().splitlines()[-1:]})
report['pytorch_modes'] = torch_runs

ng = epochs(text('train-no-graph') or '')
report['train_no_graph'] = {'status': status.get('train-no-graph', {}).get('status'), 'epochs': ng,
                            'warm_epoch_train_s': ng[-1]['train_s'] if len(ng) > 1 else None}
report['bench_gemm_other'] = {'status': status.get('bench-gemm-other', {}).get('status'),
                              'json': load_json(os.path.join(out, 'bench-gemm-other.json'))}

report['summary'] = {
    'preflight': report['preflight']['missing'],
    'gemm': report['gemm'],
    'train_final_accuracy_pct': report['train']['final_test_accuracy_pct'],
    'train_warm_epoch_s': report['train']['warm_epoch_train_s_median'],
    'selftest': report['selftest']['status'],
    'launches_per_step': report['step_profile']['launches_per_step'],
    'kernel_us_per_step': report['step_profile']['kernel_us_per_step_sum'],
    'bench_rows': [{k: r.get(k) for k in ('device', 'batch_size', 'images_per_second', 'pytorch_images_per_second',
                                          'ratio_to_pytorch', 'test_accuracy')}
                   for r in ((report['bench']['json'] or {}).get('rows') or [])],
    'cudnn_selftest': report['cudnn_selftest']['result'] or report['cudnn_selftest']['status'],
    'cudnn_vs_kernels_images_per_s': report['cudnn_bench']['cudnn_vs_kernels'],
    'native_tests': f"{report['native_tests']['passed']} passed, {report['native_tests']['failed']} failed",
    'pytorch_warm_images_per_s': {f"{r['mode']}-{r['batch']}": r['warm_images_per_s'] for r in torch_runs},
    'train_no_graph_warm_epoch_s': report['train_no_graph']['warm_epoch_train_s'],
    'steps_not_ok': [s['step'] + ': ' + s['status'] for s in index if s['status'] != 'ok']}
tmp = os.path.join(out, 'gpu-report.json.tmp')
with open(tmp, 'w') as f:
    json.dump(report, f, indent=1)
os.replace(tmp, os.path.join(out, 'gpu-report.json'))
if complete:
    print(json.dumps(report['summary'], indent=1))
PYEOF
}

# ---- the run ----
out=${OUT:?set OUT to the folder that receives the report}
mkdir -p "$out/steps" || exit 2
out=$(cd "$out" && pwd)
steps=$out/steps
py=${PYTHON:-python3}
budget=${BUDGET_S:-450}
jar=$here/gpu-lenet.jar
torch_ref=$here/torch_reference.py
NVCC_BIN=${NVCC:-nvcc}
# a toolkit off the PATH, unless NVCC names one
[ -z "${NVCC:-}" ] && ! command -v nvcc >/dev/null 2>&1 && [ -f /usr/local/cuda/bin/nvcc ] && NVCC_BIN=/usr/local/cuda/bin/nvcc

if [ "${1:-}" = "__step" ]; then
  # one step's commands, in a shell of its own (so that `timeout` can end it); the run exported the rest
  "step_$2"
  exit
fi
if [ "${1:-}" = "__json" ]; then
  # the JSON again from $OUT/steps (e.g. after a run that was cut off before its end)
  write_json "${2:-partial}"
  exit
fi

log=$out/gpu-report.log
# step limits are multiplied by this (a rehearsal on a small machine without a GPU needs more time per step)
scale=${LIMIT_SCALE:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-report.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
: >"$log"
: >"$steps/index.tsv"
remaining() { echo $((budget - ($(date +%s) - start))); }
say() { echo "$*" | tee -a "$log"; }

say "gpu-report: $(date -u +%Y-%m-%dT%H:%M:%SZ), bundle $here, budget $budget s, output $out"
# the bundle's Java runtime: packed (jre.tar.gz, unpacked here into the temporary folder) or unpacked (jre/)
java=${JAVA:-}
if [ -z "$java" ]; then
  if [ -f "$here/jre.tar.gz" ] && tar -C "$work" -xzf "$here/jre.tar.gz"; then java=$work/jre/bin/java
  elif [ -f "$here/jre/bin/java" ]; then java=$here/jre/bin/java
  fi
fi
# a copy that lost its execute bits still runs: the runtime's own programs get them back
[ -n "$java" ] && [ -f "$java" ] && [ ! -x "$java" ] && chmod u+x "$(dirname "$java")"/* "$(dirname "$java")"/../lib/jspawnhelper 2>/dev/null
# cuDNN 9: CUDNN_DIR, else the folder of PyTorch's libcudnn.so.9 (pip's nvidia-cudnn-cu12/-cu13, or torch/lib)
find_cudnn() {
  "$py" - <<'PYEOF' 2>/dev/null
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
found = [p for r in roots for p in sorted(glob.glob(os.path.join(r, 'nvidia', '**', 'libcudnn.so.9'), recursive=True))]
try:
    import torch
    found += glob.glob(os.path.join(os.path.dirname(torch.__file__), 'lib', 'libcudnn.so.9'))
except ImportError:
    pass
print(os.path.dirname(found[0]) if found else '')
PYEOF
}
cudnn_dir=${CUDNN_DIR:-$(find_cudnn)}
export java py jar torch_ref NVCC_BIN work out steps LOG_INTERVAL cudnn_dir

# What the pre-flight found usable, for the steps' requirements (the pre-flight step itself reports it).
declare -A usable
"$java" -version >/dev/null 2>&1 && usable[java]=1
nvidia-smi -L >/dev/null 2>&1 && usable[gpu]=1
"$NVCC_BIN" --version >/dev/null 2>&1 && usable[nvcc]=1
"$py" -c 'import torch' >/dev/null 2>&1 && usable[torch]=1
[ -n "$cudnn_dir" ] && [ -e "$cudnn_dir/libcudnn.so.9" ] && usable[cudnn]=1
# (a step's own shell sees only the exported environment)
export have_torch=${usable[torch]:-}
missing_requirement() {  # prints the first requirement of $1 (comma list) that is not usable
  local r
  for r in ${1//,/ }; do
    case $r in
      -) ;;
      tool:*) command -v "${r#tool:}" >/dev/null 2>&1 || { echo "$r"; return; } ;;
      java|nvcc|torch|cudnn) [ -n "${usable[$r]:-}" ] || { echo "$r"; return; } ;;
    esac
  done
}

# run_step NAME LIMIT_S NEED_S REQUIRES: step_NAME under `timeout` (at most LIMIT_S, never past the budget) unless
# a requirement is missing or fewer than NEED_S seconds are left; output to steps/NAME.out; status and seconds
# to the index; then the JSON is rewritten.
run_step() {
  local name=$1 limit=$(($2 * scale)) need=$(($3 * scale)) requires=$4 left lacking t0 t1 rc secs
  left=$(remaining)
  lacking=$(missing_requirement "$requires")
  if [ -n "$lacking" ]; then
    printf '%s\tskipped\t0\tneeds %s\n' "$name" "$lacking" >>"$steps/index.tsv"
    say "== $name: skipped (needs $lacking, which the pre-flight found missing)"
  elif [ "$left" -lt "$need" ]; then
    printf '%s\tskipped\t0\tbudget: %s s left, needs %s\n' "$name" "$left" "$need" >>"$steps/index.tsv"
    say "== $name: skipped ($left s of the budget left, needs $need)"
  else
    [ "$limit" -gt "$left" ] && limit=$left
    say "== $name (limit $limit s)"
    t0=$(date +%s.%N)
    timeout --kill-after=10 "$limit" bash "$self" __step "$name" >"$steps/$name.out" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    [ "$rc" = 124 ] && say "   (timed out after $limit s)"
    printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$secs" "$limit" >>"$steps/index.tsv"
    cat "$steps/$name.out" >>"$log"
    say "-- $name: rc $rc in $secs s"
  fi
  write_json partial 2>>"$log" || say "gpu-report: writing the JSON failed (see the log); steps/ holds every output"
}

while read -r name limit need requires; do
  [ -n "$name" ] && run_step "$name" "$limit" "$need" "$requires"
done <<<"$STEPS"

say "gpu-report: $(( $(date +%s) - start )) s in all; writing $out/gpu-report.json"
write_json complete 2>>"$log" | tee -a "$log" || say "gpu-report: writing the JSON failed (see the log); steps/ holds every output"
say "gpu-report: done: $out/gpu-report.json, $log"
