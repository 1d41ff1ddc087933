#!/usr/bin/env bash
# End-to-end performance of mother (issue #5): builds release, writes synthetic hub caches
# (random values: for speed and memory only, never for recovery quality), runs every
# measurement and prints the tables that README.md ("Performance") reports.
#
#   benches/end_to_end.sh                 # everything (about 8 GB of scratch disk at peak)
#   MOTHER_PERF_DIR=/tmp/mp benches/end_to_end.sh
#   MOTHER_PERF_SCALE="100 300 1000" benches/end_to_end.sh   # leave out n = 3000
#   MOTHER_PERF_ONLY="throughput memory" benches/end_to_end.sh
#
# Parts: throughput (target 1), memory (target 2), scale (target 4), rescan (target 5),
# bundles (the 1,000-model cache exported in two shards, then one forest from both bundles).
# Target 3 (sketch error) is the test `cargo test --release --test it sketch_accuracy -- --nocapture`.
set -euo pipefail

cd "$(dirname "$0")/.."
DATA=${MOTHER_PERF_DIR:-/work/tmp/mother-perf}
RUNS=${MOTHER_PERF_RUNS:-5}
SCALE=${MOTHER_PERF_SCALE:-"100 300 1000 3000"}
ONLY=${MOTHER_PERF_ONLY:-"throughput memory scale rescan bundles"}
MOTHER=target/release/mother
SYNTH=target/release/examples/synth_models
TIMING=target/release/examples/scan_timing

wants() { [[ " $ONLY " == *" $1 "* ]]; }

# Median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Wall and CPU (user + system) seconds of a command, its output discarded: "wall cpu".
# Wall time comes from bash's microsecond clock (GNU time rounds it to 10 ms, which is 5% of a
# 0.2 s run); CPU seconds matter on a shared machine, where wall time also counts other
# people's work.
seconds() {
    local log start end
    log=$(mktemp)
    start=$EPOCHREALTIME
    /usr/bin/time -f '%U %S' -o "$log" "$@" >/dev/null
    end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" '{ printf "%.4f %.2f\n", e - s, $1 + $2 }' "$log"
    rm -f "$log"
}
echo "== machine"
echo "nproc: $(nproc)"
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|L2|L3)' || true
free -h | head -2
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
df -h "$(dirname "$DATA")" | tail -1

echo "== build"
cargo build --release --quiet --bin mother --example synth_models --example scan_timing
mkdir -p "$DATA"

if wants throughput; then
    echo "== throughput: mother scan --no-cache vs cat, page cache warm, median of $RUNS"
    printf '%-6s %8s | %8s %8s %9s | %8s %8s %9s | %10s %9s\n' dtype "size MB" "cat s" "cat cpu" "cat MB/s" \
        "scan s" "scan cpu" "scan MB/s" "wall ratio" "cpu ratio"
    for dtype in f32 bf16 f16; do
        dir="$DATA/throughput-$dtype"
        [[ -d $dir ]] || "$SYNTH" "$dir" --models 8 --size-mb 190 --dtype "$dtype" 2>/dev/null
        blobs=("$dir"/models--*/blobs/*)
        bytes=$(cat "${blobs[@]}" | wc -c)
        cat "${blobs[@]}" >/dev/null
        "$MOTHER" scan "$dir" --no-cache --json >/dev/null
        cat_runs=() scan_runs=()
        for _ in $(seq "$RUNS"); do
            cat_runs+=("$(seconds cat "${blobs[@]}")")
            scan_runs+=("$(seconds "$MOTHER" scan "$dir" --no-cache --json)")
        done
        cat_s=$(printf '%s\n' "${cat_runs[@]}" | cut -d' ' -f1 | median)
        cat_cpu=$(printf '%s\n' "${cat_runs[@]}" | cut -d' ' -f2 | median)
        scan_s=$(printf '%s\n' "${scan_runs[@]}" | cut -d' ' -f1 | median)
        scan_cpu=$(printf '%s\n' "${scan_runs[@]}" | cut -d' ' -f2 | median)
        awk -v d="$dtype" -v b="$bytes" -v c="$cat_s" -v cc="$cat_cpu" -v s="$scan_s" -v sc="$scan_cpu" 'BEGIN {
            printf "%-6s %8.0f | %8.3f %8.2f %9.0f | %8.3f %8.2f %9.0f | %9.0f%% %8.0f%%\n", d, b / 1e6,
                c, cc, b / 1e6 / c, s, sc, b / 1e6 / s, 100 * c / s, 100 * cc / sc }'
        echo "  runs cat (wall cpu):  ${cat_runs[*]}"
        echo "  runs scan (wall cpu): ${scan_runs[*]}"
    done
fi

if wants memory; then
    echo "== memory: peak RSS fingerprinting one 4 GB F32 model"
    dir="$DATA/memory-4gb"
    rm -rf "$dir"
    "$SYNTH" "$dir" --models 1 --size-mb 4400 --dtype f32 --hidden 4096 --intermediate 7168 2>/dev/null
    blob=("$dir"/models--*/blobs/*)
    largest=$((7168 * 4096 * 4))
    log="$DATA/memory-time.txt"
    /usr/bin/time -v "$MOTHER" scan "$dir" --no-cache --json >/dev/null 2>"$log"
    rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$log")
    awk -v f="$(stat -c %s "${blob[0]}")" -v r="$rss_kb" -v l="$largest" -v w="$wall" 'BEGIN {
        printf "model %.0f MB, largest tensor %.0f MB, max RSS %.1f MB (RSS minus largest tensor: %.0f MB), wall %s\n",
            f / 1e6, l / 1e6, r * 1024 / 1e6, r * 1024 / 1e6 - l / 1e6, w }'
    rm -rf "$dir"
fi

if wants scale; then
    echo "== scale: tiny models (8 matrices of 64x64, F32) in random-walk families of 20, one run each"
    printf '%6s %7s %13s %11s %9s %11s\n' models edges "fingerprint s" "recovery s" "total s" "max RSS MB"
    for n in $SCALE; do
        dir="$DATA/scale-$n"
        [[ -d $dir ]] || "$SYNTH" "$dir" --models "$n" --families $(((n + 19) / 20)) 2>/dev/null
        log="$DATA/scale-time-$n.txt"
        line=$(/usr/bin/time -f '%M' -o "$log" "$TIMING" "$dir")
        read -r models edges fingerprint recovery total <<<"$line"
        printf '%6s %7s %13s %11s %9s %11.0f\n' "$models" "$edges" "$fingerprint" "$recovery" "$total" \
            "$(echo "$(tail -1 "$log") / 1000" | bc -l)"
    done
fi

if wants rescan; then
    echo "== rescan: 100 models, fingerprint cache warm, median of $RUNS"
    dir="$DATA/scale-100"
    [[ -d $dir ]] || "$SYNTH" "$dir" --models 100 --families 5 2>/dev/null
    cache="$DATA/rescan-cache"
    rm -rf "$cache"
    "$MOTHER" scan "$dir" --cache-dir "$cache" --json >/dev/null
    times=() splits=()
    for _ in $(seq "$RUNS"); do
        times+=("$(seconds "$MOTHER" scan "$dir" --cache-dir "$cache" --json)")
        splits+=("$("$TIMING" "$dir" --cache-dir "$cache" | cut -f3,4 | tr '\t' '/')")
    done
    echo "mother scan, cache warm: median $(printf '%s\n' "${times[@]}" | cut -d' ' -f1 | median) s wall," \
        "$(printf '%s\n' "${times[@]}" | cut -d' ' -f2 | median) s cpu (runs, wall cpu: ${times[*]})"
    echo "  fingerprints-from-cache s / recovery s per run: ${splits[*]}"
fi
if wants bundles; then
    echo "== bundles: 1,000 models, two shards exported, then scanned from the bundles, median of $RUNS"
    dir="$DATA/scale-1000"
    [[ -d $dir ]] || "$SYNTH" "$dir" --models 1000 --families 50 2>/dev/null
    cache="$DATA/bundle-cache"
    "$MOTHER" scan "$dir" --cache-dir "$cache" --json >/dev/null
    for k in 1 2; do
        "$MOTHER" export "$dir" --shard "$k/2" --out "$DATA/part-$k.mfb" --cache-dir "$cache" 2>/dev/null
    done
    echo "bundle sizes: $(stat -c '%s' "$DATA"/part-1.mfb "$DATA"/part-2.mfb | awk '{ printf "%.1f MB ", $1 / 1e6 }')"
    from_bundles=() cached=()
    for _ in $(seq "$RUNS"); do
        from_bundles+=("$(seconds "$MOTHER" scan --bundle "$DATA/part-1.mfb" --bundle "$DATA/part-2.mfb" --json)")
        cached+=("$(seconds "$MOTHER" scan "$dir" --cache-dir "$cache" --json)")
    done
    echo "scan --bundle x2: median $(printf '%s\n' "${from_bundles[@]}" | cut -d' ' -f1 | median) s wall" \
        "(runs, wall cpu: ${from_bundles[*]})"
    echo "scan, cache warm: median $(printf '%s\n' "${cached[@]}" | cut -d' ' -f1 | median) s wall" \
        "(runs, wall cpu: ${cached[*]})"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
