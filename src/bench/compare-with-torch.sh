#!/bin/sh
# Throughput beside the PyTorch peer, in one session: ROUNDS interleaved rounds (default 2) of the reference CNN in
# PyTorch and `cxr bench --json` (both models), on 1 then 2 threads, so that load from other processes hits both
# sides alike; compare per round, then take medians. Needs Debian's PyTorch: apt-get install -y python3-torch.
# Run from the repository root, under the CPU lock: flock /tmp/cxr-cpu.lock sh src/bench/compare-with-torch.sh
set -eu
TORCH=../shared/bench/torch_reference_cnn.py
load() { uptime | sed 's/.*load/load/'; }
for round in $(seq 1 "${ROUNDS:-2}"); do
  for threads in 1 2; do
    echo "== round $round, $threads thread(s), $(date -u +%H:%M:%S) $(load)"
    echo "-- torch$threads"; /usr/bin/python3 "$TORCH" 128 "$threads"
    echo "-- ours$threads"; npm run -s bench -- --json --no-pipeline --threads "$threads"
  done
done
echo "== end $(date -u +%H:%M:%S) $(load)"
