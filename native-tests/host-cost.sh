#!/usr/bin/env bash
# The GPU path's host cost, without a GPU: runs `train --device cuda` of the jar on the no-op CUDA driver of
# native-tests/null-cuda and prints, per training step of the warm epochs (2 and later), the host
# microseconds and what the step asked of the driver: kernel launches, graph launches, GEMMs,
# synchronisations. No kernel runs (losses and accuracy are 0): this is host cost only, never a GPU figure.
#
# The figures come from null-cuda's trace, which stamps the time and the call counters at every blocking
# call. A training run reads its loss back at each log line, so with --log-interval L the stamps of two
# consecutive log lines of an epoch enclose exactly L steps; the first interval of each epoch (shuffle
# upload, epoch set-up) and the last, shorter one are left out. Two times per step: wall (what a GPU would
# wait for, inflated when other processes hold the cores) and the training thread's CPU time (steadier on
# a shared machine; the JIT compiler and the GC run on other threads).
#
# Environment: JAR (default target/gpu-lenet.jar), NULL_CUDA_DIR (default native-tests/build/null-cuda),
# RUNS (3), EPOCHS (3), BATCH (64), INTERVAL (100), GEMM (auto|cublas|kernel; default auto), GRAPH (1: each step one
# CUDA graph launch, as train runs by default; 0: --no-graph, every kernel launched), JAVA (java),
# HOST_COST_JSON (also write the summary there as JSON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jar=${JAR:-$root/target/gpu-lenet.jar}
lib=${NULL_CUDA_DIR:-$root/native-tests/build/null-cuda}
runs=${RUNS:-3} epochs=${EPOCHS:-3} batch=${BATCH:-64} interval=${INTERVAL:-100} gemm=${GEMM:-auto}
graph_flag=; [ "${GRAPH:-1}" = 0 ] && graph_flag=--no-graph
java=${JAVA:-java}
[ -f "$jar" ] || { echo "host-cost: $jar is missing (make jar)" >&2; exit 2; }
[ "$epochs" -ge 2 ] || { echo "host-cost: EPOCHS must be 2 or more (epoch 1 is the cold one)" >&2; exit 2; }
bash "$root/native-tests/null-cuda/build.sh" "$lib" "$jar" >/dev/null
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cores=$(nproc)
echo "host-cost: $jar on null-cuda ($lib), $cores cores; train --device cuda --epochs $epochs --batch-size $batch" \
     "--log-interval $interval --gemm $gemm $graph_flag; $runs runs; host cost only: no kernel runs"

# One run's trace -> its per-step figures (one line for the summary) and a readable line on stdout.
per_run='
  function median(a, k,   i, j, t) { for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                                     return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  BEGIN { steps = int((N + B - 1) / B); full = int(steps / L) }
  # a read-back is an asynchronous copy (d2h) and the wait for it (sync): that sync is part of the read-back,
  # any other marks the end of the training loop of an epoch
  $1 == "sync" { if (prev != "d2h") { epoch++; inepoch = 0 } prev = $1; next }
  $1 == "d2h" {
    prev = $1
    # epoch 1: log read-backs from its start; later epochs: the first read-back is the previous eval
    inepoch++; k = epoch == 0 ? inepoch : inepoch - 1
    if (epoch >= 1 && k >= 1) {
      if (k >= 2 && k <= full) {
        m++; wall[m] = ($2 - t) / 1000 / L; cpu[m] = ($10 - c10) / 1000 / L
        dl += $3 - c3; dg += $4 - c4; dm += $5 - c5; ds += $6 - c6; dd += $7 - c7; dw += $9 - c9
      }
      t = $2; c3 = $3; c4 = $4; c5 = $5; c6 = $6; c7 = $7; c9 = $9; c10 = $10
    }
  }
  END {
    if (m == 0) { print "host-cost: no full log interval in the warm epochs (has the trace format changed?)" > "/dev/stderr"; exit 1 }
    for (i = 1; i <= m; i++) { wl = (i == 1 || wall[i] < wl) ? wall[i] : wl; wh = (i == 1 || wall[i] > wh) ? wall[i] : wh
                               cl = (i == 1 || cpu[i] < cl) ? cpu[i] : cl; ch = (i == 1 || cpu[i] > ch) ? cpu[i] : ch }
    w = median(wall, m); c = median(cpu, m); S = m * L
    printf "run %d: %s; warm epochs: train %s; load average %s before, %s after\n", run, gemm, warm, lb, la
    printf "  per step (%d intervals of %d steps, epochs 2+): host %.0f us wall (median; %.0f-%.0f), %.0f us CPU of the" \
           " training thread (%.0f-%.0f); kernel launches %.2f, graph launches %.2f, GEMMs %.2f, synchronisations %.3f" \
           " (waits for the stream; each read-back is one), copies to the host %.3f, memsets %.3f\n",
           m, L, w, wl, wh, c, cl, ch, dl / S, dg / S, dm / S, ds / S, dd / S, dw / S
    printf "%.1f %.1f %.1f %.1f %.1f %.1f %.4f %.4f %.4f %.4f %.4f %s\n", w, wl, wh, c, cl, ch, dl / S, dg / S, dm / S,
           ds / S, dw / S, lb >> out
  }'
summary='
  function sort(a, k,   i, j, t) { for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
  function med(a, k) { return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  { n++; w[n] = $1; c[n] = $4; wl = (n == 1 || $2 < wl) ? $2 : wl; wh = (n == 1 || $3 > wh) ? $3 : wh
    cl = (n == 1 || $5 < cl) ? $5 : cl; ch = (n == 1 || $6 > ch) ? $6 : ch
    l = $7; g = $8; m = $9; s = $10; ms = $11; loads = loads (n > 1 ? ", " : "") $12 }
  END {
    sort(w, n); sort(c, n)
    printf "host-cost: per warm step %.0f us wall (median of %d runs; run medians %.0f-%.0f, 100-step intervals %.0f-%.0f)," \
           " %.0f us CPU (run medians %.0f-%.0f, intervals %.0f-%.0f); %.2f kernel launches, %.2f graph launches, %.2f GEMMs," \
           " %.3f synchronisations; load average (1 min) at the runs: %s. Host cost only: no kernel ran.\n",
           med(w, n), n, w[1], w[n], wl, wh, med(c, n), c[1], c[n], cl, ch, l, g, m, s, loads
    if (json != "") {
      printf "{\"what\": \"host cost of the GPU path only (null-cuda: no kernel runs)\", \"batch\": %d, \"gemm\": \"%s\", \"cores\": %d, \"runs\": %d,", batch, gemm, cores, n > json
      printf " \"host_wall_us_per_step\": %.1f, \"host_wall_us_run_medians\": [%.1f, %.1f], \"host_wall_us_intervals\": [%.1f, %.1f],", med(w, n), w[1], w[n], wl, wh > json
      printf " \"host_cpu_us_per_step\": %.1f, \"host_cpu_us_run_medians\": [%.1f, %.1f], \"host_cpu_us_intervals\": [%.1f, %.1f],", med(c, n), c[1], c[n], cl, ch > json
      printf " \"kernel_launches_per_step\": %.3f, \"graph_launches_per_step\": %.3f, \"gemms_per_step\": %.3f,", l, g, m > json
      printf " \"synchronisations_per_step\": %.4f, \"memsets_per_step\": %.4f, \"load_average_1min\": [%s]}\n", s, ms, loads > json
    }
  }'

: >"$tmp/runs"
for r in $(seq 1 "$runs"); do
  load_before=$(cut -d' ' -f1 /proc/loadavg)
  rm -f "$tmp/trace"
  if ! NULL_CUDA_TRACE="$tmp/trace" LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
       "$java" -jar "$jar" train --device cuda --epochs "$epochs" --batch-size "$batch" --log-interval "$interval" \
       --gemm "$gemm" $graph_flag >"$tmp/out" 2>"$tmp/err"; then
    cat "$tmp/out" "$tmp/err" >&2; echo "host-cost: run $r failed" >&2; exit 1
  fi
  load_after=$(cut -d' ' -f1 /proc/loadavg)
  grep -q 'null-cuda (no GPU' "$tmp/out" || { cat "$tmp/out" >&2; echo "host-cost: the run did not use null-cuda" >&2; exit 1; }
  gemm_line=$(grep -o 'GEMM: [^,]*\(([^)]*)\)\?' "$tmp/out" | head -n 1)
  n=$(grep -m1 -o '\[[0-9]*/[0-9]*' "$tmp/out" | cut -d/ -f2)   # training images, from the first log line
  # each warm epoch's training loop in ms, from its images/s (the seconds are printed to 10 ms only)
  warm=$(awk -v N="$n" '/^Epoch [0-9]+: train / && $2 != "1:" {printf "%s%.1f ms", sep, 1000 * N / $6; sep=", "}' "$tmp/out")
  awk -v L="$interval" -v B="$batch" -v N="$n" -v run="$r" -v gemm="$gemm_line" -v warm="$warm" \
      -v lb="$load_before" -v la="$load_after" -v out="$tmp/runs" "$per_run" "$tmp/trace"
done
awk -v json="${HOST_COST_JSON:-}" -v gemm="$gemm" -v batch="$batch" -v cores="$cores" "$summary" "$tmp/runs"
