#!/bin/sh
# Rebuilds the two variants of kernels.wasm from kernels.c (needs clang-14 and wasm-ld-14: apt-get install
# clang-14 lld-14). The outputs are committed, so nobody needs a compiler to use them.
#   kernels.wasm        imports a plain memory  (TF.js's single-threaded SIMD build)
#   kernels-shared.wasm imports a shared memory (TF.js's threaded SIMD build)
set -eu
cd "$(dirname "$0")"
FLAGS="--target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -fno-builtin -ffreestanding"
LINK="-Wl,--no-entry -Wl,--import-memory -Wl,--max-memory=4294967296 -Wl,--initial-memory=65536 -Wl,--stack-first -Wl,-z,stack-size=0"
clang-14 $FLAGS $LINK -o kernels.wasm kernels.c
clang-14 $FLAGS -matomics $LINK -Wl,--shared-memory -o kernels-shared.wasm kernels.c
