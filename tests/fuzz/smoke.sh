#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target of every fuzz package under crates/
# (found by their `cargo-fuzz = true` manifests, targets listed by `cargo fuzz list`),
# then runs each for SECONDS (default 30) on stable Rust (`-s none`: no sanitizer),
# starting from its committed seeds. The corpus a run grows goes to a temporary
# directory, never into the repository. Then each target reads the 64 KiB inputs of
# big_inputs.py (long runs of grammar bytes, thousands of parameters, elements, parts...)
# once: a linear parser takes milliseconds. Exits 1 when a target crashes, hangs (one
# fuzz input over 5 s, or a 64 KiB input over 2 s), runs out of memory (RSS over 2 GB:
# without a sanitizer that is how a leak shows) or does not build.
#
# Usage: tests/fuzz/smoke.sh [SECONDS] [TARGET...]   (no TARGET: all of them)
# Environment:
#   FUZZ_JOBS         targets run at once (default 1; 2 on a dedicated 2-core machine
#                     halves the run phase)
#   FUZZ_CORPUS_DIR   keep the grown corpora there (one folder per target) instead of
#                     a temporary directory; a later run continues from them
#   FUZZ_TARGET_DIR   cargo target directory shared by every fuzz package
#                     (default: $CARGO_TARGET_DIR/fuzz, else target/fuzz)
#
# Seeds of a target: <package>/seeds/<target>/, plus the folders named in
# <package>/seeds/<target>.dirs (one per line, relative to the repository root; absent
# ones are skipped). Dictionary: <package>/<target>.dict when present.
set -euo pipefail

# Builds one fuzz package (or one of its targets) into the shared target directory.
build() {
    if ! cargo fuzz build -s none --fuzz-dir "$1" --target-dir "$target_dir" ${2:+"$2"}; then
        echo "fuzz smoke FAILED: ${1#"$root"/} ${2:-} does not build" >&2
        exit 1
    fi
}

# Runs one target; its libFuzzer output goes to $work/logs/TARGET.log and its result
# line to $work/results/TARGET.
run_target() {
    local target=$1 package=$root/${package_of[$1]}
    local corpus=$corpus_root/$target log=$work/logs/$target.log
    local inputs=("$corpus") options=()
    mkdir -p "$corpus" "$work/artifacts/$target"
    [[ -d $package/seeds/$target ]] && inputs+=("$package/seeds/$target")
    if [[ -f $package/seeds/$target.dirs ]]; then
        while read -r extra; do
            [[ -z $extra || $extra == \#* ]] && continue
            [[ -d $root/$extra ]] && inputs+=("$root/$extra")
        done <"$package/seeds/$target.dirs"
    fi
    [[ -f $package/$target.dict ]] && options+=("-dict=$package/$target.dict")
    local status=0 began
    began=$(date +%s)
    "$bin_dir/$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" \
        "${options[@]}" "${inputs[@]}" >"$log" 2>&1 || status=$?
    local took=$(($(date +%s) - began)) execs rate units result slowest=-
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    units=$(grep -o 'corp: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2 || true)
    if [[ $status == 0 && -d $work/big/$target ]]; then
        "$bin_dir/$target" -timeout=2 -rss_limit_mb=2048 \
            -artifact_prefix="$work/artifacts/$target/" "$work/big/$target"/* \
            >"$work/logs/$target.big.log" 2>&1 || status=$?
        log=$work/logs/$target.big.log
        slowest=$(sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p' "$log" | sort -n | tail -n1)
        slowest=${slowest:-?}ms
    fi
    if [[ $status == 0 ]]; then
        result=ok
    elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then
        result="HANG (exit $status)"
    elif grep -q 'out-of-memory' "$log"; then
        result="OUT OF MEMORY (exit $status)"
    else
        result="CRASH (exit $status)"
    fi
    printf '%-22s %5ss %11s execs %8s/s corpus %6s  64K input %6s  %s\n' "$target" "$took" \
        "${execs:-?}" "${rate:-?}" "${units:-?}" "$slowest" "$result" >"$work/results/$target"
}

# Everything runs from main, called on the last line: bash has then read the whole file,
# so editing it during a long run cannot change what runs.
main() {
    seconds=${1:-30}
    shift || true
    only=("$@")
    root=$(cd "$(dirname "$0")/../.." && pwd)
    jobs=${FUZZ_JOBS:-1}
    target_dir=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/fuzz}
    if ! [[ $seconds =~ ^[0-9]+$ && $jobs =~ ^[0-9]+$ && $jobs -ge 1 ]]; then
        echo "usage: $0 [SECONDS] [TARGET...] (FUZZ_JOBS >= 1)" >&2
        exit 2
    fi

    started=$(date +%s)
    # libfuzzer-sys compiles libFuzzer (C++).
    if ! command -v c++ >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing a C++ compiler for libFuzzer"
        apt-get update -qq && apt-get install -y -qq --no-install-recommends g++ >/dev/null
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "==> installing cargo-fuzz"
        cargo install cargo-fuzz --locked
    fi

    work=$(mktemp -d)
    keep_work=0
    cleanup() { if [[ $keep_work == 0 ]]; then rm -rf "$work"; fi; }
    trap cleanup EXIT
    corpus_root=${FUZZ_CORPUS_DIR:-$work/corpus}

    # Fuzz packages: folders whose Cargo.toml marks them as cargo-fuzz projects.
    mapfile -t packages < <(
        find "$root/crates" -name Cargo.toml -path '*/fuzz/Cargo.toml' -not -path '*/target/*' \
            -exec grep -l '^cargo-fuzz = true' {} + | xargs -r -n1 dirname | sort
    )
    if [[ ${#packages[@]} == 0 ]]; then
        echo "no fuzz packages found under $root/crates" >&2
        exit 1
    fi

    # Build everything first (one shared target directory), then run.
    declare -A package_of=()
    selected=()
    for package in "${packages[@]}"; do
        name=${package#"$root"/}
        # A package without its own lock file resolves like the workspace does.
        if [[ ! -f $package/Cargo.lock && -f $root/Cargo.lock ]]; then
            cp "$root/Cargo.lock" "$package/Cargo.lock"
        fi
        mapfile -t targets < <(cargo fuzz list --fuzz-dir "$package")
        wanted=()
        for target in "${targets[@]}"; do
            if [[ ${#only[@]} -gt 0 && ! " ${only[*]} " == *" $target "* ]]; then
                continue
            fi
            if [[ -n ${package_of[$target]:-} ]]; then
                echo "fuzz target $target is in both ${package_of[$target]} and $name:" \
                    "binaries share one target directory, so names must differ" >&2
                exit 1
            fi
            package_of[$target]=$name
            wanted+=("$target")
            selected+=("$target")
        done
        [[ ${#wanted[@]} == 0 ]] && continue
        echo "==> building ${wanted[*]} ($name)"
        if [[ ${#wanted[@]} == "${#targets[@]}" ]]; then
            build "$package"
        else
            for target in "${wanted[@]}"; do
                build "$package" "$target"
            done
        fi
    done
    if [[ ${#only[@]} -gt 0 && ${#selected[@]} != "${#only[@]}" ]]; then
        echo "unknown fuzz target among: ${only[*]} (found: ${selected[*]:-none})" >&2
        exit 1
    fi
    built=$(date +%s)
    host=$(rustc -vV | sed -n 's/^host: //p')
    bin_dir=$target_dir/$host/release

    mkdir -p "$work/logs" "$work/results"
    if command -v python3 >/dev/null 2>&1; then
        python3 "$root/tests/fuzz/big_inputs.py" "$work/big" "${selected[@]}"
    else
        echo "no python3: the 64 KiB inputs are skipped"
    fi
    echo "==> running ${#selected[@]} targets for ${seconds}s each, $jobs at a time"
    running=0
    for target in "${selected[@]}"; do
        if [[ $running -ge $jobs ]]; then
            wait -n
            running=$((running - 1))
        fi
        run_target "$target" &
        running=$((running + 1))
    done
    wait

    echo
    echo "target                  time  fuzz inputs run      speed   corpus  slowest 64K input  result"
    failed=0
    for target in "${selected[@]}"; do
        line=$(cat "$work/results/$target" 2>/dev/null || echo "$target: no result")
        echo "$line"
        if [[ $line != *" ok" ]]; then
            failed=1
            for log in "$work/logs/$target".*log; do
                echo "---- $target (${package_of[$target]}): end of $log"
                tail -n 40 "$log" | cut -c1-300 || true
            done
            ls "$work/artifacts/$target" 2>/dev/null | sed "s|^|     artifact: $work/artifacts/$target/|"
        fi
    done
    finished=$(date +%s)
    echo "fuzz smoke: ${#selected[@]} targets, build $((built - started))s," \
        "runs $((finished - built))s, total $((finished - started))s"
    if [[ $failed == 1 ]]; then
        keep_work=1
        echo "fuzz smoke FAILED: logs and crashing inputs kept in $work" >&2
        exit 1
    fi
}

main "$@"
