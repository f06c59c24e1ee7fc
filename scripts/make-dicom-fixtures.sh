#!/usr/bin/env bash
# Regenerates the small DICOM test fixtures in test/fixtures/dicom/ from two of the dataset's full-resolution
# images, with Debian's dcmtk (apt-get install dcmtk) and the repository's own sharp (npm ci first).
#
# Every file carries the same fake patient identifiers (see PHI_* below); tests check that none of them ever
# appears in Pneumoscope's output. The fixtures are committed, so tests never need dcmtk.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=test/fixtures/dicom
SRC_A=../shared/datasets/fullres_samples/NORMAL/IM-0117-0001.jpeg
SRC_B=../shared/datasets/fullres_samples/PNEUMONIA/person1008_virus_1691.jpeg
WIDTH=64

PHI_NAME='DOE^JANE^SECRET'
PHI_ID='SECRET-ID-4711'
PHI_BIRTH='19010203'
PHI_ACCESSION='ACC-SECRET-99'
PHI_INSTITUTION='SECRET GENERAL HOSPITAL'
PHI_REFERRER='DR^SECRET^REFERRER'

for tool in img2dcm dcmodify dcmdjpeg dcmcjpeg dcmcjpls dcmcrle dcmconv dump2dcm; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install dcmtk" >&2; exit 1; }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.dcm

# 1. Down-scaled grey JPEG sources and the raw pixel files the hand-built data sets need.
node --input-type=module - "$SRC_A" "$SRC_B" "$OUT" "$WORK" "$WIDTH" <<'NODE'
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
const [srcA, srcB, out, work, width] = process.argv.slice(2);
const grey = (src) => sharp(src).resize({ width: Number(width) }).toColourspace('b-w');
await grey(srcA).jpeg({ quality: 92 }).toFile(`${out}/source-a.jpeg`);
await grey(srcB).jpeg({ quality: 92 }).toFile(`${out}/source-b.jpeg`);
// A 3-channel (YCbCr) JPEG of the same picture, with a slight tint, for the colour DICOM cases.
await sharp(`${out}/source-a.jpeg`).toColourspace('srgb').tint({ r: 255, g: 240, b: 220 }).jpeg({ quality: 92 })
  .toFile(`${work}/colour.jpeg`);
const { data, info } = await sharp(`${out}/source-a.jpeg`).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
const n = info.width * info.height;
const u16 = (values) => Buffer.from(new Uint16Array(values).buffer);
const i16 = (values) => Buffer.from(new Int16Array(values).buffer);
const inverted = Buffer.from(data.map((v) => 255 - v));
// 12 bits stored in 16: value * 16 + 8, with junk in the unused top 4 bits of every other pixel (overlay bits).
writeFileSync(`${work}/bits12.raw`, u16(Array.from(data, (v, i) => v * 16 + 8 + (i % 2 ? 0xa000 : 0))));
// Signed 16-bit: stored = value * 8 - 1024; with slope 0.5 and intercept 512 the rescaled value is value * 4.
writeFileSync(`${work}/signed.raw`, i16(Array.from(data, (v) => v * 8 - 1024)));
writeFileSync(`${work}/multiframe.raw`, Buffer.concat([data, inverted]));
writeFileSync(`${work}/rgb-planar.raw`, Buffer.concat([data, data, data]));
writeFileSync(`${work}/size.txt`, `${info.width} ${info.height} ${n}\n`);
NODE
read -r COLS ROWS _ <"$WORK/size.txt"

phi() {
  dcmodify -nb -i "(0010,0010)=$PHI_NAME" -i "(0010,0020)=$PHI_ID" -i "(0010,0030)=$PHI_BIRTH" \
    -i "(0008,0050)=$PHI_ACCESSION" -i "(0008,0080)=$PHI_INSTITUTION" -i "(0008,0090)=$PHI_REFERRER" "$1"
}

# A hand-built data set: $1 = output, $2 = pixel file, $3.. = extra dump lines (bits, windows, ...).
build() {
  local out=$1 pixels=$2
  shift 2
  {
    echo '(0008,0016) UI =SecondaryCaptureImageStorage'
    echo '(0008,0060) CS [OT]'
    echo "(0010,0010) PN [$PHI_NAME]"
    echo "(0010,0020) LO [$PHI_ID]"
    echo "(0010,0030) DA [$PHI_BIRTH]"
    echo "(0008,0050) SH [$PHI_ACCESSION]"
    echo "(0008,0080) LO [$PHI_INSTITUTION]"
    echo "(0008,0090) PN [$PHI_REFERRER]"
    echo "(0028,0010) US $ROWS"
    echo "(0028,0011) US $COLS"
    printf '%s\n' "$@"
    echo "(7fe0,0010) OW =$pixels"
  } >"$WORK/dump.txt"
  dump2dcm -q +Ug +te "$WORK/dump.txt" "$out"
}

MONO8=('(0028,0002) US 1' '(0028,0004) CS [MONOCHROME2]' '(0028,0100) US 8' '(0028,0101) US 8'
  '(0028,0102) US 7' '(0028,0103) US 0')

# 2. JPEG baseline: img2dcm wraps the JPEG file itself, so its frame is byte-for-byte the source JPEG.
img2dcm -q "$OUT/source-a.jpeg" "$OUT/jpeg-baseline.dcm"
phi "$OUT/jpeg-baseline.dcm"
img2dcm -q "$WORK/colour.jpeg" "$OUT/jpeg-baseline-colour.dcm"
phi "$OUT/jpeg-baseline-colour.dcm"

# 3. Uncompressed 8-bit, in both VR encodings, and as the inverse-polarity MONOCHROME1 reading of it.
dcmdjpeg -q "$OUT/jpeg-baseline.dcm" "$OUT/explicit-8bit.dcm"
dcmconv -q +ti "$OUT/explicit-8bit.dcm" "$OUT/implicit-8bit.dcm"
cp "$OUT/explicit-8bit.dcm" "$OUT/monochrome1-8bit.dcm"
dcmodify -nb -m '(0028,0004)=MONOCHROME1' "$OUT/monochrome1-8bit.dcm"
dcmconv -q +td "$OUT/explicit-8bit.dcm" "$OUT/deflated-8bit.dcm"
# Colour, uncompressed: dcmdjpeg converts the YCbCr JPEG to RGB.
dcmdjpeg -q "$OUT/jpeg-baseline-colour.dcm" "$OUT/rgb-8bit.dcm"

# 4. Deeper data: 12 of 16 bits without a window (robust window), signed 16-bit with rescale and two windows.
build "$OUT/bits12-16bit.dcm" "$WORK/bits12.raw" '(0028,0002) US 1' '(0028,0004) CS [MONOCHROME2]' \
  '(0028,0100) US 16' '(0028,0101) US 12' '(0028,0102) US 11' '(0028,0103) US 0'
build "$OUT/signed-rescale-window-16bit.dcm" "$WORK/signed.raw" '(0028,0002) US 1' '(0028,0004) CS [MONOCHROME2]' \
  '(0028,0100) US 16' '(0028,0101) US 16' '(0028,0102) US 15' '(0028,0103) US 1' \
  '(0028,1050) DS [510\100]' '(0028,1051) DS [1024\50]' '(0028,1052) DS [512]' '(0028,1053) DS [0.5]'
dcmconv -q +tb "$OUT/signed-rescale-window-16bit.dcm" "$OUT/bigendian-16bit.dcm"

# 5. Multi-frame (frame 1 = the picture, frame 2 = its negative) and planar RGB.
build "$OUT/multiframe-8bit.dcm" "$WORK/multiframe.raw" "${MONO8[@]}" '(0028,0008) IS [2]'
build "$OUT/rgb-planar-8bit.dcm" "$WORK/rgb-planar.raw" '(0028,0002) US 3' '(0028,0004) CS [RGB]' \
  '(0028,0006) US 1' '(0028,0100) US 8' '(0028,0101) US 8' '(0028,0102) US 7' '(0028,0103) US 0'

# 6. JPEG lossless (8- and signed 16-bit), syntaxes the decoder does not read, and a file without pixel data.
dcmcjpeg -q +e1 "$OUT/explicit-8bit.dcm" "$OUT/jpeg-lossless.dcm"
dcmcjpeg -q +e1 "$OUT/signed-rescale-window-16bit.dcm" "$OUT/jpeg-lossless-16bit.dcm"
dcmcjpls -q "$OUT/explicit-8bit.dcm" "$OUT/jpegls-lossless.dcm"
dcmcrle -q "$OUT/explicit-8bit.dcm" "$OUT/rle-lossless.dcm"
cp "$OUT/explicit-8bit.dcm" "$OUT/no-pixel-data.dcm"
dcmodify -nb -ea '(7fe0,0010)' "$OUT/no-pixel-data.dcm"

ls -l "$OUT"
