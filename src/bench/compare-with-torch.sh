#!/bin/sh
# Throughput beside the PyTorch peer, in one session: ROUNDS interleaved rounds (default 3) of the reference CNN in
# PyTorch (1 and 2 threads) and `cxr bench --json` (wasm, 1 and 2 threads), so that load from other processes
# hits both sides alike; compare medians. Needs Debian's PyTorch: apt-get install -y python3-torch.
# Run from the repository root: sh src/bench/compare-with-torch.sh
set -eu
TORCH=../shared/bench/torch_reference_cnn.py
for round in $(seq 1 "${ROUNDS:-3}"); do
  echo "== round $round $(date -u +%H:%M:%S) $(uptime | sed 's/.*load/load/')"
  echo "-- torch1"; /usr/bin/python3 "$TORCH" 128 1
  echo "-- ours1"; CXR_WASM_THREADS=1 npm run -s bench -- --json
  echo "-- torch2"; /usr/bin/python3 "$TORCH" 128 2
  echo "-- ours2"; CXR_WASM_THREADS=2 npm run -s bench -- --json
done
echo "== end $(date -u +%H:%M:%S) $(uptime | sed 's/.*load/load/')"
