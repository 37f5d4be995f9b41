//go:build linux && amd64

// Command probe checks that the CPU it runs on (usually Bochs, through
// ../run-avx512.sh) executes AVX-512F and AVX-512 VNNI instructions correctly
// and that the kernel keeps the AVX-512 register state across context
// switches. It prints one PASS/FAIL line per check and exits 1 on any FAIL.
//
//	CGO_ENABLED=0 go build -o /tmp/probe ./internal/emu/probe
//	internal/emu/run-avx512.sh /tmp/probe
//	internal/emu/run-avx512.sh /tmp/probe -fmaloop 1000000   # timing
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

func fmaBroadcast(x, y *[16]float32, s float32, dst *[16]float32)
func dpbusd(acc *[16]int32, a *[64]uint8, b *[64]int8, dst *[16]int32)
func maskedOps(a, b, merged, zeroed *[16]float32, k uint16) (gt uint16)
func xgetbv0() (eax, edx uint32)
func zmmAcrossSleep(pattern, out *[16]uint32, ts *[2]int64) (k uint16)
func zmmClobber(n int)
func fmaLoop(n int)

var failed bool

func check(name string, ok bool, detail string) {
	status := "PASS"
	if !ok {
		status = "FAIL"
		failed = true
	}
	if detail != "" {
		detail = ": " + detail
	}
	fmt.Printf("%s %s%s\n", status, name, detail)
}

func main() {
	loops := flag.Int("fmaloop", 0, "also time `n` iterations of 4 AVX-512 FMAs (guest clock)")
	flag.Parse()

	x := cpu.X86
	fmt.Printf("GOOS=%s GOARCH=%s NumCPU=%d GOMAXPROCS=%d\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("cpu.X86: AVX=%v AVX2=%v FMA=%v OSXSAVE=%v AVX512=%v AVX512F=%v AVX512BW=%v AVX512VL=%v AVX512DQ=%v AVX512CD=%v AVX512VNNI=%v AVX512VBMI=%v AVX512VBMI2=%v AVX512BF16=%v AVXVNNI=%v\n",
		x.HasAVX, x.HasAVX2, x.HasFMA, x.HasOSXSAVE, x.HasAVX512, x.HasAVX512F, x.HasAVX512BW, x.HasAVX512VL,
		x.HasAVX512DQ, x.HasAVX512CD, x.HasAVX512VNNI, x.HasAVX512VBMI, x.HasAVX512VBMI2, x.HasAVX512BF16, x.HasAVXVNNI)
	printCPUInfo()

	if x.HasOSXSAVE {
		lo, hi := xgetbv0()
		xcr0 := uint64(hi)<<32 | uint64(lo)
		// Bits 1,2 = SSE,AVX; 5,6,7 = opmask, ZMM_Hi256, Hi16_ZMM.
		check("os-avx512-state", xcr0&0xe6 == 0xe6, fmt.Sprintf("XCR0=%#x", xcr0))
	} else {
		check("os-avx512-state", false, "no OSXSAVE")
	}
	check("cpu.X86.HasAVX512F", x.HasAVX512F, "")
	check("cpu.X86.HasAVX512VNNI", x.HasAVX512VNNI, "")
	if !x.HasAVX512F {
		fmt.Println("FAIL no AVX-512F: not running the instruction checks")
		os.Exit(1)
	}

	testFMA()
	if x.HasAVX512VNNI {
		testVNNI()
	}
	testMasked()
	testContextSwitch()

	if *loops > 0 {
		t0 := time.Now()
		fmaLoop(*loops)
		d := time.Since(t0)
		fmt.Printf("fmaloop: %d iterations (%d instructions) in %v guest time\n", *loops, *loops*6, d)
	}

	if failed {
		fmt.Println("probe: FAIL")
		os.Exit(1)
	}
	fmt.Println("probe: PASS")
}

func printCPUInfo() {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			fmt.Printf("cpuinfo model name:%s\n", v)
		case "flags":
			var avx []string
			for _, fl := range strings.Fields(v) {
				if strings.HasPrefix(fl, "avx") || strings.HasPrefix(fl, "xsave") {
					avx = append(avx, fl)
				}
			}
			fmt.Printf("cpuinfo flags: %s\n", strings.Join(avx, " "))
			return
		}
	}
}

func testFMA() {
	var a, b, got, want [16]float32
	s := float32(1.5)
	for i := range a {
		a[i] = float32(i) - 7.25
		b[i] = float32(3*i) + 0.5
		want[i] = a[i]*s + b[i] // exact in float32 for these values
	}
	fmaBroadcast(&a, &b, s, &got)
	check("VBROADCASTSS+VFMADD231PS zmm", got == want, fmt.Sprintf("got[0,15]=%v,%v want %v,%v", got[0], got[15], want[0], want[15]))
}

func testVNNI() {
	var acc, got, want [16]int32
	var ua [64]uint8
	var sb [64]int8
	for i := range ua {
		ua[i] = uint8(255 - 3*i)
		sb[i] = int8(i*7 - 128)
	}
	for i := range acc {
		acc[i] = int32(i*1000 - 5000)
		w := acc[i]
		for j := 0; j < 4; j++ {
			w += int32(ua[4*i+j]) * int32(sb[4*i+j])
		}
		want[i] = w
	}
	dpbusd(&acc, &ua, &sb, &got)
	check("VPDPBUSD zmm (VNNI)", got == want, fmt.Sprintf("got[0]=%d want %d", got[0], want[0]))
}

func testMasked() {
	var a, b, merged, zeroed, wantMerged, wantZeroed [16]float32
	const k = uint16(0b1010_0110_1100_0011)
	var wantGT uint16
	for i := range a {
		a[i] = float32(i%5) * 2
		b[i] = float32(i%3) * 3
		merged[i] = -1
		wantMerged[i] = -1
		if k&(1<<i) != 0 {
			wantMerged[i] = a[i] + b[i]
			wantZeroed[i] = a[i] + b[i]
		}
		if a[i] > b[i] {
			wantGT |= 1 << i
		}
	}
	gt := maskedOps(&a, &b, &merged, &zeroed, k)
	check("KMOVW+masked VMOVUPS store (merge)", merged == wantMerged, "")
	check("VADDPS zero-masking", zeroed == wantZeroed, "")
	check("VCMPPS into opmask", gt == wantGT, fmt.Sprintf("got %#04x want %#04x", gt, wantGT))
}

// testContextSwitch puts a pattern into Z31/K3, sleeps while another OS
// thread keeps writing other values into Z31/K3, and checks that the pattern
// survived: the kernel must save and restore the AVX-512 state (XSAVE).
func testContextSwitch() {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	var stop atomic.Bool
	var clobbers atomic.Int64
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for !stop.Load() {
			zmmClobber(10000)
			clobbers.Add(1)
		}
		close(done)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var pattern, out [16]uint32
	for i := range pattern {
		pattern[i] = 0x01020304 * uint32(i+1)
	}
	ok := true
	ts := [2]int64{0, 20_000_000} // 20ms
	var k uint16
	for round := 0; round < 5 && ok; round++ {
		k = zmmAcrossSleep(&pattern, &out, &ts)
		ok = out == pattern && k == 0xa5c3
	}
	stop.Store(true)
	<-done
	check("ZMM31/K3 preserved across context switches", ok,
		fmt.Sprintf("clobber rounds meanwhile=%d, K3=%#04x", clobbers.Load(), k))
}
