#!/usr/bin/env bash
# Runs every test: installs what is needed, type-checks the workspace, then runs all vitest suites
# (unit suites of each package and the end-to-end suite, which starts bin/waypoint as a process).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$WAYPOINT_ROOT"

# The HBONE interop tests talk to an HTTP/2 stack that is not Node's: Debian's python3-h2.
if ! /usr/bin/python3 -c 'import h2' 2>/dev/null; then
  echo "== installing python3-h2 (HBONE interop tests)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq python3-h2 >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq python3-h2 >/dev/null; }
fi

echo "== type check" >&2
pnpm exec tsc -p tsconfig.json
echo "== tests" >&2
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.vitest-results.json "$@" || status=$?
# One plain summary line, whatever the reporter printed above.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".vitest-results.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit "$status"
