#!/usr/bin/env bash
# run-avx512.sh: run a static linux/amd64 binary (e.g. a `go test -c` binary)
# on an emulated CPU with AVX-512F + AVX-512 VNNI (Bochs, Tiger Lake model),
# under a Debian kernel, and return its output and exit code.
#
# Usage: run-avx512.sh [options] BINARY [ARGS...]
#   -f SRC[:DST]  copy host file or directory SRC into the guest at DST
#                 (absolute guest path; default: the same path as SRC).
#                 Repeatable. EMU_FILES="SRC[:DST] ..." does the same.
#   -C DIR        guest working directory (default: /emu/files if present, else /)
#   -e KEY=VALUE  environment variable for BINARY (repeatable; EMU_ENV="K=V ...")
#   -t SECONDS    give up after this long (EMU_TIMEOUT, default 3600)
#   -m MODEL      Bochs CPU model (EMU_CPU, default tigerlake)
#   -i IPS        Bochs ips setting (EMU_IPS, default 100000000)
#   -k            keep the work directory (bochsrc, ISO, logs) and print its path
#   -v            show the full serial console (kernel messages) and timings
#
# The binary must be static (CGO_ENABLED=0). Its stdout and stderr (merged)
# are printed on stdout; the script exits with the binary's exit code, or
# 124 on timeout, 125 if the guest did not report one.
#
# Go >= 1.26 binaries: Bochs 2.7 mis-executes the AVX-512 (GFNI/VBMI) kernels
# of the runtime's garbage collector, so a program that collects garbage can
# crash ("found pointer to free object"). Build test binaries with
# GOEXPERIMENT=nogreenteagc (or pass -e GOGC=off for short runs).
# See README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${EMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goclip-emu}
timeout_s=${EMU_TIMEOUT:-3600}
model=${EMU_CPU:-tigerlake}
ips=${EMU_IPS:-100000000}
workdir=""
keep=0
verbose=0
files=()
envs=()
# shellcheck disable=SC2206
[[ -n ${EMU_FILES:-} ]] && files=(${EMU_FILES})
# shellcheck disable=SC2206
[[ -n ${EMU_ENV:-} ]] && envs=(${EMU_ENV})

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 2; }
log() { echo "run-avx512: $*" >&2; }
die() { log "$*"; exit 125; }

while getopts ":f:C:e:t:m:i:kvh" opt; do
	case $opt in
	f) files+=("$OPTARG") ;;
	C) workdir=$OPTARG ;;
	e) envs+=("$OPTARG") ;;
	t) timeout_s=$OPTARG ;;
	m) model=$OPTARG ;;
	i) ips=$OPTARG ;;
	k) keep=1 ;;
	v) verbose=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 ]] || usage
bin=$1
shift
[[ -f $bin ]] || die "no such file: $bin"
if file_out=$(file -b "$bin" 2>/dev/null) && [[ $file_out == *dynamically* ]]; then
	die "$bin is dynamically linked; build it with CGO_ENABLED=0"
fi

# ---- tools -----------------------------------------------------------------
need_pkgs=()
command -v bochs >/dev/null || need_pkgs+=(bochs)
[[ -f /usr/share/bochs/BIOS-bochs-latest ]] || need_pkgs+=(bochsbios)
[[ -f /usr/share/vgabios/vgabios.bin ]] || need_pkgs+=(vgabios)
[[ -f /usr/lib/ISOLINUX/isolinux.bin ]] || need_pkgs+=(isolinux)
[[ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ]] || need_pkgs+=(syslinux-common)
command -v xorriso >/dev/null || need_pkgs+=(xorriso)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v go >/dev/null || die "go is needed to build the guest init"
if ((${#need_pkgs[@]})); then
	log "installing ${need_pkgs[*]}"
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y -q "${need_pkgs[@]}" >&2 ||
		{ $sudo apt-get update -q >&2 && $sudo apt-get install -y -q "${need_pkgs[@]}" >&2; } ||
		die "apt-get install ${need_pkgs[*]} failed"
fi

# ---- kernel (cached) ---------------------------------------------------------
mkdir -p "$cache"
# The cloud flavour: LZ4-compressed (the generic one is XZ, which takes
# minutes to unpack under Bochs) and with few drivers to probe.
flavour=${EMU_KERNEL_FLAVOUR:-cloud-amd64}
kernel=$(ls -1 "$cache"/vmlinuz-*-"$flavour" 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $kernel ]]; then
	kpkg() { apt-cache depends "linux-image-$flavour" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
	pkg=$(kpkg)
	if [[ -z $pkg ]]; then
		apt-get update -q >&2 || true
		pkg=$(kpkg)
	fi
	[[ -n $pkg ]] || die "cannot find a Debian kernel package (apt-cache depends linux-image-$flavour)"
	log "downloading $pkg"
	dl=$(mktemp -d)
	chmod 777 "$dl" # apt's _apt user writes here
	(cd "$dl" && apt-get download -q "$pkg" >&2) || die "apt-get download $pkg failed"
	dpkg-deb --fsys-tarfile "$dl"/*.deb | tar -x -C "$dl" --wildcards './boot/vmlinuz-*'
	kernel=$(ls -1 "$dl"/boot/vmlinuz-* | head -n1)
	mv "$kernel" "$cache/"
	rm -rf "$dl"
	kernel=$(ls -1 "$cache"/vmlinuz-*-"$flavour" | sort -V | tail -n1)
fi

# ---- guest init (cached by source hash) ---------------------------------------
src_hash=$(cat "$here"/init/*.go | sha256sum | cut -c1-16)
init_bin=$cache/init-$src_hash
if [[ ! -x $init_bin ]]; then
	(cd "$here/init" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$init_bin.tmp" .) ||
		die "building the guest init failed"
	mv "$init_bin.tmp" "$init_bin"
fi

# ---- initramfs -----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/goclip-emu.XXXXXX")
bochs_pid=""
cleanup() {
	if [[ -n $bochs_pid ]] && kill -0 "$bochs_pid" 2>/dev/null; then
		kill "$bochs_pid" 2>/dev/null || true
		wait "$bochs_pid" 2>/dev/null || true
	fi
	if ((keep)); then log "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$work/root
mkdir -p "$root"/{emu,proc,sys,dev,tmp,etc}
cp "$init_bin" "$root/init"
cp "$bin" "$root/emu/prog"
chmod 755 "$root/init" "$root/emu/prog"
: >"$root/emu/args"
for a in "$@"; do printf '%s\0' "$a" >>"$root/emu/args"; done
: >"$root/emu/env"
for e in "${envs[@]}"; do printf '%s\0' "$e" >>"$root/emu/env"; done
[[ -n $workdir ]] && printf '%s\n' "$workdir" >"$root/emu/dir"
for spec in "${files[@]}"; do
	src=${spec%%:*}
	dst=${spec#*:}
	[[ $spec == *:* ]] || dst=$(realpath "$src")
	[[ $dst == /* ]] || dst=/emu/files/$dst
	[[ -e $src ]] || die "no such file: $src"
	mkdir -p "$root$(dirname "$dst")"
	cp -a "$src" "$root$dst"
done
echo "root:x:0:0:root:/tmp:/init" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) >"$work/initrd"

# ---- bootable ISO (isolinux) -----------------------------------------------------
iso=$work/iso
mkdir -p "$iso/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
cp "$kernel" "$iso/vmlinuz"
mv "$work/initrd" "$iso/initrd"
cmdline="console=ttyS0,115200 quiet loglevel=3 panic=-1 tsc=reliable no_timer_check"
cmdline+=" mitigations=off nokaslr random.trust_cpu=on nosmp"
# Work around Bochs 2.7 bugs with the Tiger Lake / Ice Lake models:
# - CPUID 0xD lists PKRU in XCR0's mask but gives it no size or offset, and
#   CPUID(0xD,1).EBX gives the standard, not the compacted, XSAVE size: the
#   kernel then finds the XSAVE layout inconsistent and turns AVX off. Hiding
#   PKU, XSAVEC and XSAVES from the kernel leaves the 'standard' XSAVE format
#   with x87/SSE/AVX/opmask/ZMM (XCR0=0xe7).
# - With FSRM the kernel's memcpy/memmove run 'rep movsb' paths that Bochs gets
#   wrong: the kernel corrupts itself early in boot (endless page faults).
# clearcpuid only hides the features from the kernel: user space still sees the
# full CPUID (AVX-512F/BW/VL/DQ/CD, VNNI, VBMI, VBMI2, ...).
cmdline+=" clearcpuid=pku,xsavec,fsrm noxsaves"
cmdline+=" cryptomgr.notests i8042.noaux rdinit=/init ${EMU_CMDLINE:-}"
cat >"$iso/isolinux/isolinux.cfg" <<EOF
DEFAULT emu
PROMPT 0
TIMEOUT 0
LABEL emu
  KERNEL /vmlinuz
  INITRD /initrd
  APPEND $cmdline
EOF
xorriso -as mkisofs -quiet -o "$work/emu.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table "$iso" 2>"$work/xorriso.log" ||
	{ cat "$work/xorriso.log" >&2; die "xorriso failed"; }
rm -rf "$iso" "$root"

# ---- Bochs -----------------------------------------------------------------------
serial=$work/serial.out
cat >"$work/bochsrc" <<EOF
megs: ${EMU_MEGS:-512}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=$model, count=1, ips=$ips, reset_on_triple_fault=0, ignore_bad_msrs=1
clock: sync=none, time0=946684800
ata0-master: type=cdrom, path="$work/emu.iso", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev="$serial"
display_library: rfb, options="timeout=0"
mouse: enabled=0
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=${EMU_BOCHS_INFO:-ignore}
debug: action=ignore
EOF
: >"$serial"
ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
t0=$(ms)
# Debian's Bochs is built with the internal debugger, which stops before the
# first instruction: the rc file tells it to continue (and to quit after).
printf "${EMU_BOCHS_RC:-continue\\nquit\\n}" >"$work/debugger.rc"
bochs_bin=bochs
command -v bochs-bin >/dev/null && bochs_bin=bochs-bin
(cd "$work" && exec "$bochs_bin" -q -f "$work/bochsrc" -rc "$work/debugger.rc" </dev/null >"$work/bochs.out" 2>&1) &
bochs_pid=$!

begin_re='=====EMU-BEGIN====='
end_re='=====EMU-END rc=[0-9]+====='
t_begin=""
status=""
while :; do
	now=$(ms)
	if [[ -z $t_begin ]] && grep -q -a "$begin_re" "$serial"; then
		t_begin=$now
		((verbose)) && log "guest booted, program started after $(secs $((now - t0)))s"
	fi
	if grep -q -a -E "$end_re" "$serial"; then
		status=done
		break
	fi
	if ! kill -0 "$bochs_pid" 2>/dev/null; then
		sleep 0.2
		grep -q -a -E "$end_re" "$serial" && status=done || status=died
		break
	fi
	if ((now - t0 > timeout_s * 1000)); then
		status=timeout
		break
	fi
	sleep 0.5
done
t_end=$(ms)
# The guest powers off by itself; give it a moment, then stop Bochs.
for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$bochs_pid" 2>/dev/null || break; sleep 0.2; done
kill "$bochs_pid" 2>/dev/null || true
wait "$bochs_pid" 2>/dev/null || true
bochs_pid=""

if ((verbose)); then
	log "---- serial console ----"
	cat -v "$serial" >&2
	log "---- end of serial console ----"
fi
if [[ -n $t_begin ]]; then
	# Print what the program wrote between the markers.
	awk -v b="$begin_re" -v e="$end_re" '
		$0 ~ e { sub(e ".*", ""); printf "%s", $0; exit }
		on { print }
		$0 ~ b { on = 1 }' "$serial"
fi
boot_s=""
[[ -n $t_begin ]] && boot_s=$(secs $((t_begin - t0)))
run_s=""
[[ -n $t_begin ]] && run_s=$(secs $((t_end - t_begin)))
case $status in
done)
	rc=$(grep -a -o -E "$end_re" "$serial" | head -n1 | sed -E 's/.*rc=([0-9]+).*/\1/')
	((verbose)) && log "boot ${boot_s}s, program ${run_s}s, exit code $rc"
	exit "$rc"
	;;
timeout)
	log "timeout after ${timeout_s}s (program started: ${t_begin:+yes}${t_begin:-no}); rerun with -v -k to see the console"
	exit 124
	;;
*)
	log "Bochs exited before the program reported an exit code; tail of the console and Bochs log:"
	tail -n 20 "$serial" | cat -v >&2
	grep -a -E '[ep]\[' "$work/bochs.log" 2>/dev/null | tail -n 10 >&2 || true
	tail -n 5 "$work/bochs.out" >&2 || true
	exit 125
	;;
esac
