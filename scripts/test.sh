#!/usr/bin/env bash
# Runs every test: installs what is needed, type-checks the workspace, then runs all vitest suites
# (unit suites of each package and the end-to-end suite, which starts bin/waypoint as a process).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$WAYPOINT_ROOT"
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
