#!/usr/bin/env bash
# Makes the chest X-ray instances the `cxr pacs` tests store in Orthanc (test/fixtures/pacs/), from the
# committed DICOM fixtures, with Debian's dcmtk (apt-get install dcmtk):
#   cr-jpeg-baseline.dcm   CR, JPEG baseline, carries the fixtures' fake patient name (DOE^JANE^SECRET)
#   dx-uncompressed.dcm    DX, Explicit VR Little Endian, no patient name
#   cr-uncompressed.dcm    CR, Implicit VR Little Endian, second study, no patient name
#   cr-no-pixel-data.dcm   CR without pixel data: the non-image instance a PACS may send
# dcmodify updates the meta header UIDs to match. Each file gets fixed UIDs (so tests can name them) under the 2.25 root, and a study date in 2024.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in dcmodify dcmconv; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install dcmtk" >&2; exit 1; }
done
SRC=test/fixtures/dicom
OUT=test/fixtures/pacs
mkdir -p "$OUT"
rm -f "$OUT"/*.dcm

CR=1.2.840.10008.5.1.4.1.1.1
DX=1.2.840.10008.5.1.4.1.1.1.1
STUDY_A=2.25.1000000000000000000000000000000001
STUDY_B=2.25.1000000000000000000000000000000002

# $1 out, $2 source, $3 SOP class, $4 modality, $5 study, $6 series, $7 instance, $8 keep the patient name (yes/no)
make() {
  cp "$2" "$1"
  dcmodify -nb -q -i "(0008,0016)=$3" -i "(0008,0060)=$4" -i "(0020,000d)=$5" \
    -i "(0020,000e)=$6" -i "(0008,0018)=$7" -i '(0008,0020)=20240105' -i '(0008,0030)=101500' \
    -i '(0020,0013)=1' -i '(0018,0015)=CHEST' -i '(0020,0011)=1' "$1"
  if [ "$8" = no ]; then dcmodify -nb -q -i '(0010,0010)=' "$1"; fi
}

make "$OUT/cr-jpeg-baseline.dcm" "$SRC/jpeg-baseline.dcm" $CR CR $STUDY_A 2.25.2000000000000000000000000000000001 \
  2.25.3000000000000000000000000000000001 yes
make "$OUT/dx-uncompressed.dcm" "$SRC/explicit-8bit.dcm" $DX DX $STUDY_A 2.25.2000000000000000000000000000000002 \
  2.25.3000000000000000000000000000000002 no
make "$OUT/cr-uncompressed.dcm" "$SRC/implicit-8bit.dcm" $CR CR $STUDY_B 2.25.2000000000000000000000000000000003 \
  2.25.3000000000000000000000000000000003 no
make "$OUT/cr-no-pixel-data.dcm" "$SRC/no-pixel-data.dcm" $CR CR $STUDY_B 2.25.2000000000000000000000000000000004 \
  2.25.3000000000000000000000000000000004 no
ls -l "$OUT"
