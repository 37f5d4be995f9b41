#!/usr/bin/env bash
# compare.sh times the same synthetic ViT-B/32 image tower in goclip, ONNX
# Runtime (npm's onnxruntime-node, CPU) and PyTorch (Debian's
# python3-torch), in one run, and prints them side by side as ratios to
# ONNX Runtime, with the machine and its load average.
#
#   bench/compare.sh                      # from anywhere in the repository
#   THREADS=2 BATCHES=1,8,32 DURATION=3 ORT_VERSION=1 bench/compare.sh
#
# It needs go, node/npm and /usr/bin/python3; python3-torch and
# python3-numpy are installed with apt-get when missing (as root or through
# sudo). Everything else (the model, onnxruntime-node, the ONNX file) goes
# into a temporary folder that is removed on exit. No process is left
# running: every step runs in the foreground.
set -euo pipefail

THREADS=${THREADS:-2}
BATCHES=${BATCHES:-1,8,32}
DURATION=${DURATION:-3}         # seconds per measured point, per engine
ORT_VERSION=${ORT_VERSION:-1}   # npm version range of onnxruntime-node
PY=${PY:-/usr/bin/python3}      # Debian's python, where python3-torch lives
export PYTHONDONTWRITEBYTECODE=1 # leave no __pycache__ in bench/

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/goclip-compare.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a; }

# --- dependencies ------------------------------------------------------------
if ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
	say "installing python3-torch and python3-numpy with apt-get"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get install -y --no-install-recommends python3-torch python3-numpy >&2
fi
say "installing onnxruntime-node@$ORT_VERSION in $TMP/ort (--ignore-scripts: its install script fetches GPU files; the CPU binaries are in the package)"
mkdir -p "$TMP/ort"
(cd "$TMP/ort" && npm init -y >/dev/null && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "onnxruntime-node@$ORT_VERSION" >&2)

# --- the model -----------------------------------------------------------------
say "writing the synthetic ViT-B/32 (internal/cmd/mksynth) and building goclip"
(cd "$ROOT" && go run ./internal/cmd/mksynth -model "$TMP/model" && go build -o "$TMP/goclip" ./cmd/goclip)
GOCLIP_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$ROOT" && git status --porcelain -- . 2>/dev/null | grep -v '^??' || true)" ]; then
	GOCLIP_REV="$GOCLIP_REV+changes"
fi
say "exporting the image tower to ONNX with PyTorch"
(cd "$ROOT/bench" && "$PY" export_onnx.py "$TMP/model" "$TMP/vision.onnx" "$TMP/check" 2>"$TMP/export.log") || {
	cat "$TMP/export.log" >&2
	exit 1
}

# --- the runs ------------------------------------------------------------------
LOAD_START=$(loadavg)
say "goclip: $BATCHES, $THREADS threads, ${DURATION}s per point"
"$TMP/goclip" bench --model "$TMP/model" --threads "$THREADS" --batch "$BATCHES" \
	--duration "${DURATION}s" --parts image --json >"$TMP/goclip.json"
say "ONNX Runtime"
NODE_PATH="$TMP/ort/node_modules" node "$ROOT/bench/ort_bench.js" "$TMP/vision.onnx" \
	--threads "$THREADS" --batches "$BATCHES" --duration "$DURATION" --check "$TMP/check" >"$TMP/ort.json"
say "PyTorch"
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are left as the environment has
# them (the reference measurement used them as they were); they are printed.
(cd "$ROOT/bench" && OPENBLAS_NUM_THREADS="$THREADS" "$PY" torch_bench.py "$TMP/model" \
	--threads "$THREADS" --batches "$BATCHES" --duration "$DURATION" --golden "$ROOT/testdata/kit/golden") >"$TMP/torch.json"
LOAD_END=$(loadavg)

# --- the table -------------------------------------------------------------------
CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
FAMILY=$(lscpu 2>/dev/null | sed -n 's/^CPU family: *//p' | head -1)
MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model: *//p' | head -1)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then FEAT=AVX-512
elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then FEAT="AVX2+FMA, no AVX-512"
else FEAT="no AVX2"; fi
echo "machine: ${CPU:-unknown CPU} (family ${FAMILY:-?}, model ${MODEL:-?}), $(nproc) cores, $FEAT, $(uname -sr)"
echo "load average (1, 5, 15 min): $LOAD_START at start, $LOAD_END at end"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>} (left as they are; PyTorch ran with OPENBLAS_NUM_THREADS=$THREADS)"
echo "image tower of the synthetic ViT-B/32 (8.82 GFLOP/image), fp32, $THREADS threads each, ${DURATION}s per point after a warm-up run"
echo
"$PY" "$ROOT/bench/table.py" "$TMP/goclip.json" "$TMP/ort.json" "$TMP/torch.json" "goclip $GOCLIP_REV ($THREADS threads)"
