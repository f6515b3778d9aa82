#!/usr/bin/env bash
# docs/walkthrough.md: every code block is docs/walkthrough.cpp's own text; the program builds
# with the README's plain g++ command, runs on Fashion-MNIST, and prints the sweep it describes.
# usage: docs_walkthrough.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
python3 - "$src/docs/walkthrough.md" "$src/docs/walkthrough.cpp" <<'PY'
import re, sys
doc, code = open(sys.argv[1]).read(), open(sys.argv[2]).read()
blocks = re.findall(r"```cpp\n(.*?)```", doc, re.S)
assert len(blocks) >= 4, f"{len(blocks)} cpp blocks in the walk-through"
for b in blocks:
    assert b in code, "a code block of walkthrough.md is not in walkthrough.cpp:\n" + b
print(f"{len(blocks)} code blocks of walkthrough.md are walkthrough.cpp's text")
PY
g++ -std=c++17 -O2 -I"$src/include" -I/usr/include/eigen3 "$src/docs/walkthrough.cpp" -o "$work/walkthrough" -lopenblas -lz -lturbojpeg
cd "$work"
./walkthrough >out.txt
[ "$(grep -c ' accuracy 0\.' out.txt)" -eq 8 ] || { cat out.txt; echo "expected 8 per-combination lines"; exit 1; }
[ "$(grep -c 'expected accuracy at reliability' out.txt)" -eq 8 ] || { cat out.txt; exit 1; }
grep -q '^Vanilla   fog dead  edge alive \[0, 1\] accuracy .* (no path to the cloud: a random guess)$' out.txt || { cat out.txt; exit 1; }
grep -q '^ResiliNet fog dead  edge alive \[0, 1\] accuracy [0-9.]*$' out.txt || { cat out.txt; exit 1; }
# Your own files: the ones it wrote, given explicitly, give the same sweep.
./walkthrough x.npy y.npy >again.txt
cmp <(grep -v " epoch " out.txt) <(grep -v " epoch " again.txt)  # timings aside
# A wrong file is a named error, exit 1.
if ./walkthrough y.npy y.npy 2>err.txt; then echo "Y as X was accepted"; exit 1; fi
grep -q 'expected X (N, F) and Y (N,)' err.txt || { cat err.txt; exit 1; }
grep -v ' epoch ' out.txt
