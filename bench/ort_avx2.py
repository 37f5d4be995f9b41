"""Make an installed onnxruntime-node run AVX2 kernels on a CPU with AVX-512.

    python3 bench/ort_avx2.py NODE_MODULES/onnxruntime-node

compare.sh's ISA=avx2 uses it so that an AVX-512 machine can show the race
the AVX2-only CPUs (AMD Zen 1 to 3, Intel before Ice Lake) run: goclip gets
GOCLIP_KERNELS=avx2 GOCLIP_INT8_KERNEL=avx2, but ONNX Runtime has no such
switch. Its MLAS library picks every GEMM, int8 GEMM, softmax, activation
and quantization kernel once, in the MLAS_PLATFORM constructor
(onnxruntime/core/mlas/lib/platform.cpp), from CPUID and XGETBV:

    if ((Cpuid7_1[0] & 0x10) != 0) { ... AVX-VNNI kernels ... }
    if (((Cpuid7[1] & 0x10000) != 0) && ((xcr0 & 0xE0) == 0xE0)) { ... AVX-512 ... }

This script finds those two tests in the x86-64 Linux library's machine
code and turns each conditional jump that skips its block when the feature
is missing into an unconditional one, so MLAS keeps the AVX2+FMA kernels it
chose just before, as on a CPU without the features. It edits the library
in place (compare.sh's own temporary install), and refuses, changing
nothing, unless each test is found exactly once in the expected form:

    mov eax,7; mov ecx,1; cpuid; test al,0x10; je rel8   (AVX-VNNI, leaf 7.1 eax bit 4)
    test r32,0x10000; je rel8; ...; not rax; test al,0xe0 (AVX-512F, leaf 7.0 ebx bit 16,
                                                           then XCR0's AVX-512 state bits)

within a few bytes of each other. ONNX Runtime's other CPUID reader
(onnxruntime/core/common/cpuid_info.cc, which chooses among a few contrib
kernels this graph does not use) is left as it is. Prints one line saying
what it changed; an already patched library is reported and left alone.
"""
import glob
import os
import re
import shutil
import sys

# mov eax,7; mov ecx,1; cpuid; test al,0x10; je rel8
VNNI = re.compile(rb"\xb8\x07\x00\x00\x00\xb9\x01\x00\x00\x00\x0f\xa2\xa8\x10(\x74|\xeb)", re.S)
# test r32,0x10000 (optional REX.B); je rel8 -- then, within a few bytes, not rax; test al,0xe0
AVX512 = re.compile(rb"(?:\x41)?\xf7[\xc0-\xc7]\x00\x00\x01\x00(\x74|\xeb).{1,12}?\x48\xf7\xd0\xa8\xe0", re.S)
NEAR = 0x100  # the AVX-512 test follows the AVX-VNNI one within this many bytes


def library(pkg):
    libs = glob.glob(os.path.join(pkg, "bin", "napi-v*", "linux", "x64", "libonnxruntime.so*"))
    libs = [p for p in libs if not os.path.islink(p)]
    if len(libs) != 1:
        raise SystemExit(f"ort_avx2: want one x86-64 Linux libonnxruntime.so under {pkg}, found {libs or 'none'}")
    return libs[0]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    path = library(sys.argv[1])
    with open(path, "rb") as f:
        b = bytearray(f.read())
    vnni = list(VNNI.finditer(b))
    if len(vnni) != 1:
        raise SystemExit(f"ort_avx2: {path}: MLAS's AVX-VNNI test found {len(vnni)} times, not once; "
                         "this ONNX Runtime build is not one the script knows: nothing changed")
    v = vnni[0]
    window = bytes(b[v.end():v.end() + NEAR])
    avx = list(AVX512.finditer(window))
    if len(avx) != 1:
        raise SystemExit(f"ort_avx2: {path}: MLAS's AVX-512F test found {len(avx)} times after the AVX-VNNI "
                         "one, not once; nothing changed")
    jumps = [v.start(1), v.end() + avx[0].start(1)]
    if all(b[j] == 0xEB for j in jumps):
        print(f"ort_avx2: {path} already runs MLAS's AVX2 kernels only")
        return
    for j in jumps:
        b[j] = 0xEB  # je rel8 -> jmp rel8, same displacement
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)
    print(f"ort_avx2: {path}: MLAS's AVX-VNNI and AVX-512 dispatch turned off "
          f"(je -> jmp at file offsets {', '.join(hex(j) for j in jumps)})")


if __name__ == "__main__":
    main()
