#!/usr/bin/env bash
# Starts the demo: two versions of an echo backend and the waypoint on examples/demo, in the foreground.
# `bash scripts/demo.sh hbone` also terminates HBONE on 127.0.0.1:15008 with local demo certificates.
# Ctrl-C stops everything.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$WAYPOINT_ROOT"

mode=plain
if [ "${1:-}" = hbone ] || [ "${1:-}" = plain ]; then mode="$1"; shift; fi
hbone_flags=(--hbone-listen off)
if [ "$mode" = hbone ]; then
  certs="$WAYPOINT_ROOT/.tools/demo-certs"
  [ -f "$certs/default/waypoint/cert-chain.pem" ] ||
    bin/waypoint certs --out "$certs" --identity default/waypoint --identity default/sleep >/dev/null
  hbone_flags=(--hbone-listen 127.0.0.1:15008 --cert "$certs/default/waypoint/cert-chain.pem"
    --key "$certs/default/waypoint/key.pem" --ca "$certs/root-cert.pem")
fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
node examples/echo-server.ts --listen 127.0.0.11:8080 --name echo-v1 & pids+=($!)
node examples/echo-server.ts --listen 127.0.0.12:8080 --name echo-v2 & pids+=($!)

cat <<'MSG'

waypoint demo: listening on http://127.0.0.1:8080 (Gateway port 80), admin on http://127.0.0.1:15000
Try, in another terminal:

  # path match: /v2/... goes to echo-v2
  curl -s http://127.0.0.1:8080/v2/hello -H 'Host: demo.example.com' | grep backend
  # header match: "x-version: v1" goes to echo-v1
  curl -s http://127.0.0.1:8080/anything -H 'Host: demo.example.com' -H 'x-version: v1' | grep backend
  # weighted split: /split goes 80% to echo-v1, 20% to echo-v2
  for i in $(seq 50); do curl -s http://127.0.0.1:8080/split -H 'Host: demo.example.com' | grep -o 'echo-v[12]'; done | sort | uniq -c
  # mesh routing by Service name: "x-canary: true" goes to echo-v2, the rest to echo-v1
  curl -s http://127.0.0.1:8080/ -H 'Host: echo.default' -H 'x-canary: true' | grep backend
  # no route: 404, as Envoy answers
  curl -si http://127.0.0.1:8080/ -H 'Host: nowhere.test' | head -1
  # why a request goes where it goes: every match in precedence order, the chosen rule, its backends
  curl -s 'http://127.0.0.1:15000/explain?request=GET%20http://demo.example.com/anything&header=x-version:%20v1'
  # the config in force
  curl -s http://127.0.0.1:15000/config_dump | head -20

Edit examples/demo/*.yaml while it runs: a valid edit takes effect within a second,
an invalid one is logged and the previous config keeps serving.

MSG
if [ "$mode" = hbone ]; then
  cat <<MSG
HBONE on 127.0.0.1:15008 (identity spiffe://cluster.local/ns/default/sa/waypoint). As a client ztunnel would,
tunnel to the echo Service's clusterIP with the sleep identity:

  node examples/hbone-client.ts --certs $certs/default/sleep --to 10.96.0.10:80 --forwarded-for 10.1.2.3:4567 -H 'x-canary: true'

MSG
fi
bin/waypoint run --config examples/demo --http-listen 127.0.0.1:8080=80 --access-log text \
  --admin 127.0.0.1:15000 --stats 127.0.0.1:15020 --health 127.0.0.1:15021 "${hbone_flags[@]}" --upstream plain "$@" & pids+=($!)
wait "${pids[2]}"
