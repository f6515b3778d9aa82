#!/usr/bin/env bash
# The runtime over CURVE (authenticated, encrypted ZeroMQ): resilinet-keys writes a key pair
# per process into the deployment's curve-keys folder, the health ResiliNet runs as five
# nodes with a kill and a restart, every answer equals the simulation and no connection of
# the deployment's own processes is refused; resilinet-keys will not overwrite keys. (A
# stranger's key refused and counted: the doctest "CURVE: a node admits ...".)
# usage: runtime_curve.sh PROGRAM_DIR WORK_DIR
source "$(dirname "$0")/runtime_setup.sh" "$1" "$2" 6
health_deployment "$work/curve.txt" Health1average_accuracy_ResiliNet.rsln 3000 "curve-keys keys"
"$programs/resilinet-keys" --deployment "$work/curve.txt" >"$work/keys.log"
[ "$(ls "$work/keys" | wc -l)" = 12 ] || { echo "expected 12 key files: $(ls "$work/keys")"; exit 1; }
[ "$(stat -c %a "$work/keys/edge.key")" = 600 ] || { echo "edge.key is readable by others"; exit 1; }
if "$programs/resilinet-keys" --deployment "$work/curve.txt" 2>"$work/again.err"; then
  echo "resilinet-keys overwrote existing keys"; exit 1
fi
grep -q "client.key' exists; pass --force" "$work/again.err" || { cat "$work/again.err"; exit 1; }
launch curve --requests 300 --interval-ms 3 --kill edge@100 --restart edge@200 --seed 7
python3 - "$work" <<'PY'
import re, sys
text = open(f"{sys.argv[1]}/curve/report.txt").read()
assert "guarantees: all held" in text, text
assert re.search(r"CURVE: every connection authenticated and encrypted .* refused by the client's source: 0", text), text
stats = re.findall(r"^stats node=(\w+) .* refused=(\d+) pid=\d+$", text, re.M)
assert len(stats) == 5 and all(n == "0" for _, n in stats), stats
print("CURVE deployment: " + re.search(r"simulation: .*", text).group(0))
PY
