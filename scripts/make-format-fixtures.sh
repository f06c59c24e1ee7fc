#!/usr/bin/env bash
# Regenerates test/fixtures/formats/: one real chest X-ray (a NORMAL full-resolution sample, shrunk to 384 px
# wide) as a grey JPEG that keeps the original's embedded ICC colour profile, and the same pixels as an
# uncompressed DICOM (CR, CHEST, PA) plus two DICOMs the input gate must refuse (a CT, a lateral view).
# Needs Debian's dcmtk (apt-get install dcmtk) and the repository's own sharp (npm ci first). The fixtures are
# committed, so tests never need dcmtk; the other containers (PNG, WebP, TIFF, 16-bit PNG) are made by the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=test/fixtures/formats
SRC=../shared/datasets/fullres_samples/NORMAL/IM-0133-0001.jpeg
for tool in img2dcm dcmodify dcmdjpeg; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install dcmtk" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

# 1. The shrunk grey JPEG without a profile, then the same file with the source's ICC segments (APP2
#    "ICC_PROFILE") spliced in after SOI: identical pixels, plus the profile that used to brighten them.
node --input-type=module - "$SRC" "$OUT" "$WORK" <<'NODE'
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
const [src, out, work] = process.argv.slice(2);
const original = readFileSync(src);
const plain = await sharp(original, { ignoreIcc: true })
  .resize({ width: 384 })
  .toColourspace('b-w')
  .jpeg({ quality: 92 })
  .toBuffer();
writeFileSync(`${work}/plain.jpeg`, plain);
// Collect the APP2 ICC_PROFILE segments of the source.
const segments = [];
for (let i = 2; i + 4 < original.length && original[i] === 0xff; ) {
  const marker = original[i + 1];
  const length = original.readUInt16BE(i + 2);
  const isIcc = marker === 0xe2 && original.subarray(i + 4, i + 16).toString('latin1') === 'ICC_PROFILE\0';
  if (isIcc) segments.push(original.subarray(i, i + 2 + length));
  if (marker === 0xda) break;
  i += 2 + length;
}
if (segments.length === 0) throw new Error(`${src} has no ICC profile`);
writeFileSync(`${out}/xray-icc.jpeg`, Buffer.concat([plain.subarray(0, 2), ...segments, plain.subarray(2)]));
NODE

# 2. DICOM of the same pixels, uncompressed, with the attributes a chest radiograph carries.
img2dcm -q "$WORK/plain.jpeg" "$WORK/wrapped.dcm"
dcmdjpeg -q "$WORK/wrapped.dcm" "$OUT/xray-cr-chest-pa.dcm"
dcmodify -nb -i '(0008,0060)=CR' -i '(0018,0015)=CHEST' -i '(0018,5101)=PA' "$OUT/xray-cr-chest-pa.dcm"
cp "$OUT/xray-cr-chest-pa.dcm" "$OUT/xray-ct.dcm"
dcmodify -nb -i '(0008,0060)=CT' "$OUT/xray-ct.dcm"
cp "$OUT/xray-cr-chest-pa.dcm" "$OUT/xray-lateral.dcm"
dcmodify -nb -i '(0018,5101)=LL' "$OUT/xray-lateral.dcm"
ls -l "$OUT"
