#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a while (libFuzzer via cargo-fuzz) and exits non-zero when
# one finds a crash. Usage: scripts/fuzz.sh [seconds-per-target] [target …]
#
#   scripts/fuzz.sh            # every target, 60 s each
#   scripts/fuzz.sh 600 markup # one target, 10 minutes
#
# Only stable Rust is needed: RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags cargo-fuzz
# passes. Targets are built optimised with debug assertions (integer overflow panics) and without a
# sanitizer: the crate has no `unsafe`, and AddressSanitizer would halve the executions per second.
# Each run starts from the committed seeds (fuzz/seeds/<target>) plus the corpus kept from earlier
# runs (fuzz/corpus/<target>, git-ignored). A crash leaves its input in fuzz/artifacts/<target>/;
# reproduce it with `RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a -s none <target> <file>` in fuzz/, fix
# the library, add a regression test, and keep the input in fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(entry markup question callback config)
fi

export RUSTC_BOOTSTRAP=1
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
flags=(-O -a -s none)

cargo fuzz build "${flags[@]}"

failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    # Inputs that once crashed run first, so a regression shows at once.
    regressions=()
    if [ -d "regressions/$target" ]; then
        regressions=("regressions/$target")
    fi
    echo "== $target: ${seconds}s"
    if ! cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" "${regressions[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/"; then
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing: no crashes (${#targets[@]} target(s), ${seconds}s each)"
