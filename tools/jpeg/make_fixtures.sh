#!/usr/bin/env bash
# Makes the JPEG test fixtures in tests/Genie.Media.Tests/Fixtures/jpeg/: one synthetic picture encoded by
# libjpeg-turbo's cjpeg in each layout the decoder supports (and a few it refuses), each with libjpeg-turbo's
# own decoding (djpeg, PPM) as the reference. Needs libjpeg-turbo-progs (apt-get install libjpeg-turbo-progs),
# ffmpeg (for one file from another encoder) and python3. Run once; the outputs are committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../tests/Genie.Media.Tests/Fixtures/jpeg"
mkdir -p "$out"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
python3 "$here/picture.py" 37 29 > "$tmp/src.ppm"     # odd sizes: partial MCUs on both axes
python3 "$here/picture.py" 96 72 > "$tmp/big.ppm"
enc() { name="$1"; shift; cjpeg "$@" -outfile "$out/$name.jpg" "$tmp/src.ppm"; djpeg -ppm -outfile "$out/$name.ppm" "$out/$name.jpg"; }
enc baseline_420     -quality 85 -sample 2x2
enc baseline_444     -quality 90 -sample 1x1
enc baseline_422     -quality 80 -sample 2x1
enc baseline_440     -quality 80 -sample 1x2
enc baseline_411     -quality 80 -sample 4x1
enc restart_420      -quality 85 -sample 2x2 -restart 1B
enc optimized_420    -quality 75 -sample 2x2 -optimize
enc progressive_420  -quality 85 -sample 2x2 -progressive
enc progressive_444  -quality 95 -sample 1x1 -progressive -restart 3B
enc grayscale        -quality 85 -grayscale
enc gray_progressive -quality 85 -grayscale -progressive
enc quality_100      -quality 100 -sample 1x1
enc quality_5_16bit  -quality 5 -sample 2x2
cjpeg -quality 85 -sample 2x2 -progressive -outfile "$out/progressive_big.jpg" "$tmp/big.ppm"
djpeg -ppm -outfile "$out/progressive_big.ppm" "$out/progressive_big.jpg"
cjpeg -quality 85 -arithmetic -outfile "$out/arithmetic.jpg" "$tmp/src.ppm"
cjpeg -quality 85 -rgb -outfile "$out/rgb_components.jpg" "$tmp/src.ppm"
djpeg -ppm -outfile "$out/rgb_components.ppm" "$out/rgb_components.jpg"
# Another encoder: ffmpeg's MJPEG (its own Huffman tables, JFIF header).
ffmpeg -loglevel error -y -i "$tmp/big.ppm" -pix_fmt yuvj420p -q:v 3 "$out/ffmpeg_420.jpg"
djpeg -ppm -outfile "$out/ffmpeg_420.ppm" "$out/ffmpeg_420.jpg"
cp "$tmp/src.ppm" "$out/source.ppm"
ls -la "$out"
