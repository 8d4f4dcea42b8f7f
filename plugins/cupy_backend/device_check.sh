#!/usr/bin/env bash
# The cupy backend's checks on a GPU machine, in one call (issue 12).
#
#   bash plugins/cupy_backend/device_check.sh [all|tests|bench]      (from the repo root)
#
# Written for the project's lent GPU machine (run through the device tool): Python 3.12
# with cupy-cuda13x, torch, scipy, pytest, pytest-xdist and pluggy, no network, nothing
# of layerkit installed. So:
#   * layerkit and the plugins come from this checkout through PYTHONPATH;
#   * their entry points (how layerkit finds the numpy and cupy backends) come from
#     minimal .dist-info folders written to a temporary directory on PYTHONPATH, made
#     from the plugins' pyproject.toml: no pip install, no change to layerkit;
#   * array-api-compat (a layerkit dependency the machine lacks) is installed from a
#     wheel carried in .whl/. Before the call, here, in the repo root:
#         echo /.whl/ >> .git/info/exclude
#         python3 -m pip download --no-deps --only-binary=:all: -d .whl array-api-compat==1.16.0
#     and name .whl in the call's carry.
# Results go to $OUT (at most 8 files come back): summary.txt, env.txt, gpu_tests.log,
# suites.log, core_on_cupy.log, bench.log, bench_cupy.json, RESULTS_cupy.md. Bring the
# benchmark home with:  python3 bench/bench_cupy.py --merge <files_at>/RESULTS_cupy.md
#
# Step time limits (seconds; override by environment) keep "all" under the device
# tool's 600 s per command, start-up not included:
#   LK_T_GPU=120 LK_T_SUITES=150 LK_T_BENCH=210 LK_T_CORE=90
# The device time of a session is short: "tests" then "bench" as two calls (the machine
# stays warm between them) leaves room to rerun one.
set -u -o pipefail
PHASE="${1:-all}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT="${OUT:-/tmp/layerkit_device_out}"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export CUPY_CACHE_DIR="${CUPY_CACHE_DIR:-/tmp/cupy_kernel_cache}"
PY="${PYTHON:-python3}"

# -- dependencies: array-api-compat from a carried wheel --------------------------------------
SITE=/tmp/layerkit_site
mkdir -p "$SITE"
if ! "$PY" -c "import array_api_compat" 2>/dev/null; then
    if ls .whl/array_api_compat-*.whl >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$SITE" .whl/array_api_compat-*.whl || { say "FAILED: installing array-api-compat"; exit 3; }
    else
        say "FAILED: array-api-compat is missing and no .whl/array_api_compat-*.whl was carried"
        say "  here: python3 -m pip download --no-deps --only-binary=:all: -d .whl array-api-compat==1.16.0"
        exit 3
    fi
fi

# -- entry points without installing: .dist-info folders on PYTHONPATH ---------------------
META=/tmp/layerkit_meta
rm -rf "$META"
"$PY" - "$ROOT" "$META" <<'PYEOF' || { echo "FAILED: writing entry-point metadata" | tee -a "$SUMMARY"; exit 3; }
import pathlib, re, sys, tomllib
root, meta = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for pyproject in [root / "pyproject.toml", root / "plugins/numpy_backend/pyproject.toml",
                  root / "plugins/cupy_backend/pyproject.toml"]:
    project = tomllib.loads(pyproject.read_text())["project"]
    name, version = project["name"], project["version"]
    d = meta / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    d.mkdir(parents=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    eps = project.get("entry-points", {})
    text = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) + "\n"
                   for group, items in eps.items())
    if text:
        (d / "entry_points.txt").write_text(text)
print("entry points:", sorted(p.name for p in meta.iterdir()))
PYEOF
export PYTHONPATH="$ROOT:$ROOT/plugins/numpy_backend/src:$ROOT/plugins/cupy_backend/src:$META:$SITE${PYTHONPATH:+:$PYTHONPATH}"

XDIST=""
if "$PY" -c "import xdist" 2>/dev/null; then XDIST="-n ${LK_WORKERS:-8}"; fi
PYTEST=("$PY" -m pytest -q -p no:cacheprovider -p layerkit.testing.plugin -o addopts="-ra")

# -- the environment, and layerkit's view of it ---------------------------------------------
{
    date -u
    nvidia-smi -L 2>&1 | head -4
    "$PY" -c "import sys, numpy, scipy, pluggy, array_api_compat; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'pluggy', pluggy.__version__, 'array-api-compat', array_api_compat.__version__)" 2>&1
    "$PY" -c "import cupy, torch; print('cupy', cupy.__version__, 'torch', torch.__version__, 'torch cuda', torch.version.cuda)" 2>&1
    "$PY" -m layerkit backends --no-kernels 2>&1
} > "$OUT/env.txt"
say "== environment"; head -20 "$OUT/env.txt" | tee -a "$SUMMARY"
if ! "$PY" -c "import layerkit.backend as b; b.get_backend('cupy')" >>"$OUT/env.txt" 2>&1; then
    say "FAILED: the cupy backend is not available here (see env.txt)"
    # LK_ALLOW_NO_GPU=1: go on anyway (a dry run of this script on a CPU machine)
    [ "${LK_ALLOW_NO_GPU:-0}" = "1" ] || exit 4
fi

status=0
run_step() {  # name, time limit, log file, command...
    local name="$1" limit="$2" log="$3"; shift 3
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
    local rc=$?
    local tail_line; tail_line="$(grep -E '(passed|failed|error|skipped|no tests ran)' "$log" | tail -1)"
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        say "== $name: TIMED OUT after ${limit}s ($((SECONDS - t0))s) ${tail_line}"
    else
        say "== $name: rc=$rc in $((SECONDS - t0))s: ${tail_line}"
    fi
    [ $rc -eq 0 ] || status=1
}

if [ "$PHASE" = "all" ] || [ "$PHASE" = "tests" ]; then
    # the plugin's own GPU tests: every custom kernel through NVRTC and against the generic
    # kernels, fused kernels, training steps (the CPU-only emulation tests are left out)
    run_step "plugin GPU tests" "${LK_T_GPU:-120}" "$OUT/gpu_tests.log" \
        "${PYTEST[@]}" $XDIST plugins/cupy_backend/tests/test_cupy_gpu.py \
        plugins/cupy_backend/tests/test_cupy_plugin.py plugins/cupy_backend/tests/test_fusion_source.py
    # layerkit's backend-parametrised suites (kernels, conv/pool, ops) on cupy
    run_step "suites on cupy" "${LK_T_SUITES:-150}" "$OUT/suites.log" \
        "${PYTEST[@]}" $XDIST tests --layerkit-backend=cupy -k cupy
fi
if [ "$PHASE" = "all" ] || [ "$PHASE" = "bench" ]; then
    cp bench/RESULTS.md "$OUT/RESULTS_cupy.md" 2>/dev/null || true
    run_step "benchmark" "${LK_T_BENCH:-210}" "$OUT/bench.log" \
        "$PY" bench/bench_cupy.py --results "$OUT/RESULTS_cupy.md" --json "$OUT/bench_cupy.json"
    grep -E "^\|" "$OUT/RESULTS_cupy.md" | grep -A20 "lk / torch" | tee -a "$SUMMARY" || true
fi
if [ "$PHASE" = "all" ] || [ "$PHASE" = "tests" ]; then
    # the rest of the suite with cupy as the default backend, as far as its time limit
    # allows; informational (tests about the default backend expect numpy): not in status
    gating=$status
    LAYERKIT_BACKEND=cupy run_step "core/layers suite with LAYERKIT_BACKEND=cupy" \
        "${LK_T_CORE:-90}" "$OUT/core_on_cupy.log" \
        "${PYTEST[@]}" $XDIST tests --layerkit-backend=cupy -k "not cupy"
    status=$gating
fi
say "== done: status $status"
exit $status
