#!/usr/bin/env bash
# compare.sh measures goclip against what its users would otherwise run, in
# one run on one machine, and prints one table of ratios with the machine,
# its SIMD features and its load:
#
#   - the synthetic ViT-B/32 image tower in fp32: goclip, ONNX Runtime (npm's
#     onnxruntime-node, CPU) and, for scale, PyTorch (Debian's python3-torch);
#   - the same tower in int8: goclip --precision int8 against ONNX Runtime on
#     the graph quantized as its quantize_dynamic does (quantize_onnx.py),
#     with each engine's distance to PyTorch's float32 embeddings on the
#     kit's images;
#   - preprocessing a 512×512 JPEG on one thread: goclip against PIL with
#     CLIPImageProcessor's rules (pil_preprocess.py), on the same files;
#   - end to end (goclip's eval pipeline over generated JPEGs, two threads)
#     against ONNX Runtime at batch 8 plus PIL, one after the other, as a
#     Python loop runs them; goclip's peak RSS and load time with it.
#
# A shared machine's speed drifts by 10% and more within minutes, so the
# timed parts run in ROUNDS rounds, each engine once per round, one after
# the other: every ratio is taken within a round (the two engines minutes
# apart at most), and the table gives the median of the rounds' ratios,
# with each round's below it.
#
#   bench/compare.sh                      # from anywhere in the repository
#   THREADS=2 BATCHES=1,8,32 DURATION=3 ROUNDS=3 ORT_VERSION=1 bench/compare.sh
#   ISA=avx2 bench/compare.sh             # on an AVX-512 CPU: the AVX2-only race
#
# ISA=avx2 limits every engine to AVX2+FMA, as on the AVX2-only CPUs most
# users have (AMD Zen 1 to 3, Intel before Ice Lake), when the machine at
# hand has AVX-512 or AVX-VNNI: goclip through GOCLIP_KERNELS=avx2 and
# GOCLIP_INT8_KERNEL=avx2, PyTorch through ATEN_CPU_CAPABILITY=avx2 and
# OPENBLAS_CORETYPE=Haswell, and ONNX Runtime, which has no such switch, by
# ort_avx2.py editing the temporary install's library so that MLAS skips
# its AVX-512 and AVX-VNNI kernels. PIL's libjpeg-turbo and Pillow use
# nothing wider than AVX2 anyway. The cores stay what they are (caches,
# clocks, how many 256-bit operations issue per cycle), so this shows the
# AVX2 kernels against each other, not a Zen 3.
#
# It needs go, node/npm and /usr/bin/python3; python3-torch, python3-numpy,
# python3-onnx and python3-pil are installed with apt-get when missing (as
# root or through sudo). Everything else (the model, onnxruntime-node, the
# ONNX files, the JPEGs, every run's JSON) goes into a temporary folder
# that is removed on exit (KEEP=1 keeps it and says where). No process is
# left running: every step runs in the foreground.
set -euo pipefail

THREADS=${THREADS:-2}
BATCHES=${BATCHES:-1,8,32}
DURATION=${DURATION:-3}         # seconds per measured point, per engine and round
ROUNDS=${ROUNDS:-3}             # rounds of the timed parts
ORT_VERSION=${ORT_VERSION:-1}   # npm version range of onnxruntime-node
ISA=${ISA:-native}              # native, or avx2 (see above)
case $ISA in
native | avx2) ;;
*)
	echo "compare.sh: ISA=$ISA: want native or avx2" >&2
	exit 2
	;;
esac
PY=${PY:-/usr/bin/python3}      # Debian's python, where python3-torch lives
export PYTHONDONTWRITEBYTECODE=1 # leave no __pycache__ in bench/

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/goclip-compare.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
	trap 'echo "kept $TMP" >&2' EXIT
else
	trap 'rm -rf "$TMP"' EXIT
fi
trap 'exit 130' INT TERM
R="$TMP/results"
mkdir -p "$R"

say() { printf '%s\n' "$*" >&2; }

# --- dependencies ------------------------------------------------------------
if ! "$PY" -c 'import torch, numpy, onnx, PIL' 2>/dev/null; then
	say "installing python3-torch, python3-numpy, python3-onnx and python3-pil with apt-get"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get install -y --no-install-recommends python3-torch python3-numpy python3-onnx python3-pil >&2
fi
say "installing onnxruntime-node@$ORT_VERSION in $TMP/ort (--ignore-scripts: its install script fetches GPU files; the CPU binaries are in the package)"
mkdir -p "$TMP/ort"
(cd "$TMP/ort" && npm init -y >/dev/null && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "onnxruntime-node@$ORT_VERSION" >&2)
if [ "$ISA" = avx2 ]; then
	"$PY" "$ROOT/bench/ort_avx2.py" "$TMP/ort/node_modules/onnxruntime-node" >&2
	export GOCLIP_KERNELS=avx2 GOCLIP_INT8_KERNEL=avx2 ATEN_CPU_CAPABILITY=avx2
	export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
fi

# --- the model and the inputs ----------------------------------------------------
say "writing the synthetic ViT-B/32 and the benchmark's JPEGs (internal/cmd/mksynth), building goclip"
(cd "$ROOT" && go run ./internal/cmd/mksynth -model "$TMP/model" -bench-jpegs "$TMP/jpegs" && go build -o "$TMP/goclip" ./cmd/goclip)
GOCLIP_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$ROOT" && git status --porcelain -- . 2>/dev/null | grep -v '^??' || true)" ]; then
	GOCLIP_REV="$GOCLIP_REV+changes"
fi
ISA_NOTE=
[ "$ISA" = avx2 ] && ISA_NOTE="; ISA=avx2: every engine limited to AVX2+FMA (ONNX Runtime's MLAS by ort_avx2.py)"
echo "goclip $GOCLIP_REV, $THREADS threads, ${DURATION}s per point, $ROUNDS rounds$ISA_NOTE" >"$R/label"
say "exporting the image tower to ONNX with PyTorch, and quantizing it"
(cd "$ROOT/bench" && "$PY" export_onnx.py "$TMP/model" "$TMP/vision.onnx" "$R/check" "$ROOT/testdata/kit/golden" 2>"$TMP/export.log" &&
	"$PY" quantize_onnx.py "$TMP/vision.onnx" "$TMP/vision-int8.onnx" 2>>"$TMP/export.log") || {
	cat "$TMP/export.log" >&2
	exit 1
}

# --- the runs ------------------------------------------------------------------
gbench() { # OUT PRECISION PARTS [flags]
	local out=$1 prec=$2 parts=$3
	shift 3
	say "goclip bench --precision $prec --parts $parts"
	"$TMP/goclip" bench --model "$TMP/model" --threads "$THREADS" --duration "${DURATION}s" \
		--precision "$prec" --parts "$parts" --json "$@" >"$R/$out"
}
ortbench() { # OUT PRECISION [flags]
	local out=$1 prec=$2 onnx="$TMP/vision.onnx"
	shift 2
	[ "$prec" = int8 ] && onnx="$TMP/vision-int8.onnx"
	say "ONNX Runtime $prec"
	NODE_PATH="$TMP/ort/node_modules" node "$ROOT/bench/ort_bench.js" "$onnx" \
		--threads "$THREADS" --batches "$BATCHES" --duration "$DURATION" "$@" >"$R/$out"
}
for r in $(seq 1 "$ROUNDS"); do
	say "round $r of $ROUNDS"
	gbench "r$r-goclip-fp32.json" fp32 image,preprocess --batch "$BATCHES"
	ortbench "r$r-ort-fp32.json" fp32 --check "$R/check"
	gbench "r$r-goclip-int8.json" int8 image --batch "$BATCHES"
	ortbench "r$r-ort-int8.json" int8 --check "$R/check"
	say "PIL"
	"$PY" "$ROOT/bench/pil_preprocess.py" "$TMP/jpegs" --duration "$DURATION" >"$R/r$r-pil.json"
	# End to end in processes of their own, so their peak RSS is the eval's.
	gbench "r$r-goclip-e2e-fp32.json" fp32 e2e
	gbench "r$r-goclip-e2e-int8.json" int8 e2e
done
say "goclip embed of the kit's images, fp32 and int8"
IMAGES=()
while IFS= read -r name; do IMAGES+=(--image "$ROOT/testdata/kit/images/$name"); done \
	< <("$PY" -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))))' "$R/check.images.json")
for prec in fp32 int8; do
	"$TMP/goclip" embed --model "$TMP/model" --raw --precision "$prec" "${IMAGES[@]}" >"$R/goclip-embed-$prec.jsonl"
done
say "PyTorch"
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are left as the environment has
# them; torch_bench.py records them.
(cd "$ROOT/bench" && OPENBLAS_NUM_THREADS="$THREADS" "$PY" torch_bench.py "$TMP/model" \
	--threads "$THREADS" --batches "$BATCHES" --duration "$DURATION" --golden "$ROOT/testdata/kit/golden") >"$R/torch.json"

# --- the table -------------------------------------------------------------------
echo "$(uname -sr), $(nproc) cores online"
(cd "$ROOT/bench" && "$PY" report.py "$R")
echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
