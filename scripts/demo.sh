#!/usr/bin/env bash
# The main job: install dependencies, build in Release, run the quickstart example.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRESILINET_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target quickstart -j "$(nproc)"
"$build/examples/quickstart" "$@"
