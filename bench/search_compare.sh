#!/usr/bin/env bash
# search_compare.sh puts goclip's exact search beside FAISS's IndexFlatIP,
# in one run on one machine: 1,000,000 random unit vectors of 512 values,
# one query, top 10, THREADS threads each. goclip scans its index file
# (float16, memory-mapped: BenchmarkSearch1M in package index); FAISS
# holds float32 in memory (bench/faiss_flat.py). Both are exact (recall 1).
#
#   bench/search_compare.sh            # THREADS=2 N=1000000 DIM=512
#
# It needs go and /usr/bin/python3 with python3-faiss and python3-numpy,
# installed with apt-get when missing (as root or through sudo).
set -euo pipefail
THREADS=${THREADS:-2}
N=${N:-1000000}
DIM=${DIM:-512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONDONTWRITEBYTECODE=1
if ! /usr/bin/python3 -c 'import faiss, numpy' 2>/dev/null; then
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get install -y --no-install-recommends python3-faiss python3-numpy >&2
fi
if [ "$N" != 1000000 ] || [ "$DIM" != 512 ]; then
	echo "BenchmarkSearch1M is fixed at 1,000,000 × 512: leave N and DIM as they are" >&2
	exit 2
fi
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
go_out=$(cd "$ROOT" && GOMAXPROCS=$THREADS go test -run '^$' -bench 'Search1M' -benchtime 20x ./index | grep '^BenchmarkSearch1M')
go_ms=$(awk '{printf "%.1f", $3/1e6}' <<<"$go_out")
faiss_json=$(/usr/bin/python3 "$ROOT/bench/faiss_flat.py" --n "$N" --dim "$DIM" --threads "$THREADS")
read -r f_med f_batch f_ver < <(/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("%.1f %.1f %s" % (j["single_median_ms"], j["batch64_median_ms_per_query"], j["engine"].split()[-1]))' "$faiss_json")
ratio=$(awk -v a="$go_ms" -v b="$f_med" 'BEGIN{printf "%.2f", a/b}')
echo
echo "| 1,000,000 × 512, top 10, exact, $THREADS threads | ms per query |"
echo "|---|---|"
echo "| goclip search (float16 index file, memory-mapped) | $go_ms |"
echo "| FAISS $f_ver IndexFlatIP (float32 in memory), one query | $f_med |"
echo "| FAISS IndexFlatIP, per query in batches of 64 | $f_batch |"
echo "| goclip ÷ FAISS one query | **${ratio}×** |"
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
