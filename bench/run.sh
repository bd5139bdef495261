#!/usr/bin/env bash
# Runs the benchmark: installs Node (scripts/setup.sh) and Debian's wrk, nginx and haproxy when missing,
# then bench/run.ts with the arguments given (e.g. --runs 3 --seconds 10 --profile).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup.sh"
cd "$WAYPOINT_ROOT"
missing=()
for tool in wrk nginx haproxy curl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  pkgs=("${missing[@]/nginx/nginx-light}")
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1 || { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null; }
fi
exec node bench/run.ts "$@"
