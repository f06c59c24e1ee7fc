#!/bin/sh
# Rebuilds the two variants of kernels.wasm from kernels.c (needs clang-14 and wasm-ld-14: apt-get install
# clang-14 lld-14). The outputs are committed, so nobody needs a compiler to use them.
#   kernels.wasm        imports a plain memory  (TF.js's single-threaded SIMD build)
#   kernels-shared.wasm imports a shared memory (TF.js's threaded SIMD build)
# Auto-vectorisation is off: the kernels are vectorised by hand, and clang's vectorised scalar tails
# (v128.load64_zero + f64x2.promote_low_f32x4) come out wrong once Node 20's V8 optimises them (per-channel sums
# lost for odd channel counts; test/engine/batch-norm.test.ts repeats the kernels until V8 tiers them up).
set -eu
cd "$(dirname "$0")"
FLAGS="--target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -fno-builtin -ffreestanding -fno-vectorize -fno-slp-vectorize -ffp-contract=off"
LINK="-Wl,--no-entry -Wl,--import-memory -Wl,--max-memory=4294967296 -Wl,--initial-memory=65536 -Wl,--stack-first -Wl,-z,stack-size=0"
clang-14 $FLAGS $LINK -o kernels.wasm kernels.c
clang-14 $FLAGS -matomics $LINK -Wl,--shared-memory -o kernels-shared.wasm kernels.c
# The modules run on TF.js's memory without a stack of their own: a kernel that spills to the shadow stack would
# write below address 0 of that memory. Refuse any build whose code touches a global (the stack pointer).
for module in kernels.wasm kernels-shared.wasm; do
  if llvm-objdump-14 -d "$module" | grep -q 'global\.[gs]et'; then
    echo "build.sh: $module uses the shadow stack (a local array indexed at run time?)" >&2
    exit 1
  fi
done
