#!/usr/bin/env bash
# Seconds the compiler needs to parse `#include <resilinet/resilinet.hpp>` (g++ -fsyntax-only,
# C++17, the include paths of the CMake target), best of ROUNDS (default 3); with LIMIT, exits
# non-zero when the best exceeds it.   scripts/compile_time.sh [ROUNDS] [LIMIT]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-3}"
limit="${2:-}"
src="$(mktemp --suffix=.cpp)"
trap 'rm -f "$src"' EXIT
echo '#include <resilinet/resilinet.hpp>' > "$src"
best=""
for _ in $(seq "$rounds"); do
  start=$(date +%s.%N)
  g++ -std=c++17 -fsyntax-only -I"$root/include" -I/usr/include/eigen3 "$src"
  t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
done
printf 'parsing resilinet.hpp: %.2f s (best of %s, %s)\n' "$best" "$rounds" "$(g++ --version | head -1)"
if [ -n "$limit" ] && awk -v t="$best" -v l="$limit" 'BEGIN { exit !(t > l) }'; then
  echo "compile_time: $best s is above the limit of $limit s" >&2
  exit 1
fi
