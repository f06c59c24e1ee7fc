#!/usr/bin/env bash
# Benchmark of `cxr explore` on a full dataset (not a test): a cold run with an empty preprocessing cache, then a
# warm run from the cache. Targets on the 2-core machine: cold < 60 s, warm < 10 s.
# Usage: scripts/bench-explore.sh [DATA_DIR]   (default ../shared/datasets/chest_xray)
set -euo pipefail
cd "$(dirname "$0")/.."

data="${1:-../shared/datasets/chest_xray}"
cache=".cache/bench-explore"
out="reports/bench-explore"
rm -rf "$cache" "$out"

run() {
  local label="$1"
  # user + sys above real means more than one core was busy.
  TIMEFORMAT="$label run: %R s real, %U s user, %S s sys"
  time node --import tsx src/cli/main.ts explore --data "$data" --out "$out/$label" --cache-dir "$cache" --quiet >/dev/null
}

echo "cxr explore on $data ($(nproc) CPU cores)"
run cold
run warm
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const [split, c] of Object.entries(s.images)) console.log(`${split}: NORMAL ${c.NORMAL}, PNEUMONIA ${c.PNEUMONIA}`);
const e = s.duplicates.exact;
console.log(`exact duplicates: ${e.groups} groups, ${e.extraCopies} extra copies; near-duplicate groups: ${s.duplicates.near.groups}`);
console.log(`warm run: ${s.cache.hits} images from the cache, ${s.cache.decoded} decoded`);
' "$out/warm/summary.json"
