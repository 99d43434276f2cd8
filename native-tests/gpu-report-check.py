"""Checks a gpu-report.json from a rehearsal of gpu-report.sh on null-cuda (make gpu-report-rehearsal).

null-cuda's kernels do nothing and report 0 ms, so no figure is judged; what must hold is the plumbing of
every step: it ran (or was skipped for a requirement that the pre-flight named missing, never for the
budget), each command line was accepted by the jar (info, train, train-no-graph, profile-events, bench and
cudnn-bench exit 0), the JSON holds every section, and the per-kernel profile found its windows by the
optimizer kernel that ends each step, with the launches of one step counted. The cuDNN steps must run (the
rehearsal gives them null-cuda's libcudnn.so.9): the selftest through cuDNN to its verdict, the bench with rows
and a ratio for the kernels and cuDNN at every batch. Prints each failed check; exit 1 if any.
"""
import json
import sys

SECTIONS = ('preflight', 'machine', 'info', 'gemm', 'train', 'selftest', 'step_profile', 'bench', 'native_tests',
            'pytorch_modes', 'train_no_graph', 'bench_gemm_other', 'cudnn_selftest', 'cudnn_bench', 'summary', 'steps',
            'planned_steps')
# what must exit 0 on null-cuda (selftest fails there: the kernels compute nothing)
MUST_PASS = ('info', 'train', 'profile-events', 'bench', 'train-no-graph', 'cudnn-bench')
# what must run to its verdict: 0 (all checks pass) or 1 (some fail); a refused command line exits 2
MUST_RUN = ('selftest', 'cudnn-selftest')
BENCH_BATCHES = [64, 256, 1024]


def problems(report):
    found = []
    found += [f'section missing: {s}' for s in SECTIONS if s not in report]
    if found:
        return found
    if not report['complete']:
        found.append('the report did not complete')
    steps = {s['step']: s for s in report['steps']}
    missing_line = report['preflight']['missing'] or ''
    for name in report['planned_steps']:
        s = steps.get(name)
        if s is None:
            found.append(f'step {name}: not run nor skipped')
        elif s['status'] == 'skipped':
            reason = s['limit_or_reason']
            need = reason[len('needs '):] if reason.startswith('needs ') else None
            if need is None:
                found.append(f'step {name}: skipped ({reason})')
            elif not need.startswith('tool:') and need + ' (' not in missing_line:
                found.append(f'step {name}: skipped for {need}, which the pre-flight did not name missing')
        elif s['status'] == 'timed out':
            found.append(f'step {name}: timed out')
    for name in MUST_PASS:
        if steps.get(name, {}).get('status') != 'ok':
            found.append(f'step {name}: {steps.get(name, {}).get("status")}, not ok')
    for name in MUST_RUN:
        if steps.get(name, {}).get('rc') not in (0, 1):
            found.append(f'step {name}: {steps.get(name, {}).get("status")}, rc {steps.get(name, {}).get("rc")}, not 0 or 1')
    if not report['info']['lines'] or not report['gemm']:
        found.append('info: no GEMM line')
    if len(report['train']['epochs']) < 2:
        found.append(f"train: {len(report['train']['epochs'])} epochs parsed")
    if len(report['train_no_graph']['epochs']) != 2:
        found.append(f"train_no_graph: {len(report['train_no_graph']['epochs'])} epochs parsed, not 2")
    rows = (report['bench']['json'] or {}).get('rows') or []
    if sorted(r.get('batch_size') for r in rows) != BENCH_BATCHES or any(r.get('device') != 'cuda' for r in rows):
        found.append('bench: rows ' + str([(r.get('device'), r.get('batch_size')) for r in rows])
                     + f', not cuda at {BENCH_BATCHES} only')
    found += cudnn_problems(report)
    p = report['step_profile']
    if p['windows_used'] < 1 or not p['kernels']:
        found.append(f"step_profile: empty ({p['windows_used']} of {p['windows_seen']} windows used, "
                     f"kernels {sorted(p['kernels'])})")
    else:
        optimizer = [k for k in ('sgd_momentum', 'adam_update') if k in p['kernels']]
        if [p['kernels'][k]['launches_per_step'] for k in optimizer] != [1]:
            found.append(f'step_profile: optimizer launches per step {optimizer}, not one kernel once')
        if p['launches_per_step'] < 2:
            found.append(f"step_profile: {p['launches_per_step']} launches per step")
    return found


def cudnn_problems(report):
    found = []
    st = report['cudnn_selftest']
    if not st['library_dir']:
        found.append('cudnn: the pre-flight resolved no folder holding libcudnn.so.9')
    if 'conv: cuDNN' not in (st['checked'] or ''):
        found.append(f"cudnn_selftest: the checked backend is {st['checked']!r}, not cuDNN's")
    if not st['result'] or not st['table'] or len(st['table']) != st['checks']:
        found.append(f"cudnn_selftest: no verdict or table ({st['result']!r}, {len(st['table'])} rows parsed)")
    b = report['cudnn_bench']
    rows = (b['json'] or {}).get('rows') or []
    want = sorted((d, n) for d in ('cuda', 'cuda-cudnn') for n in BENCH_BATCHES)
    got = sorted((r.get('device'), r.get('batch_size')) for r in rows)
    if got != want:
        found.append(f'cudnn_bench: rows {got}, not {want}')
    if sorted(int(n) for n in b['cudnn_vs_kernels']) != BENCH_BATCHES:
        found.append(f"cudnn_bench: cuDNN-vs-kernels ratios at {sorted(b['cudnn_vs_kernels'])}, not at {BENCH_BATCHES}")
    return found


def main():
    with open(sys.argv[1]) as f:
        report = json.load(f)
    found = problems(report)
    for p in found:
        print('gpu-report-check: ' + p)
    steps = ', '.join(f"{s['step']} {s['status']}" for s in report.get('steps', []))
    print(f'gpu-report-check: {"FAIL" if found else "PASS"} ({steps})')
    print('gpu-report-check: profile ' + json.dumps(report.get('step_profile', {}).get('kernels')))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
