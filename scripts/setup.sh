#!/usr/bin/env bash
# Installs everything the project needs and prints nothing else on success but progress lines:
# Node.js >= 22.19 (Node 24 from the npm registry when the system one is older), a pinned pnpm,
# and the workspace's packages. Safe to run again: each step is skipped when already done.
# Source it (`. scripts/setup.sh`) to get the right node and pnpm on PATH.
set -euo pipefail

WAYPOINT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION=24.21.0
PNPM_VERSION=12.4.2
TOOLS="$WAYPOINT_ROOT/.tools"

node_is_recent() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if [ -x "$TOOLS/node/node_modules/.bin/node" ]; then
  PATH="$TOOLS/node/node_modules/.bin:$PATH"
elif ! node_is_recent; then
  echo "setup: installing Node.js $NODE_VERSION from the npm registry (system node: $(node --version 2>/dev/null || echo none))" >&2
  npm install --prefix "$TOOLS/node" --no-audit --no-fund --loglevel=error "node@$NODE_VERSION" >&2
  PATH="$TOOLS/node/node_modules/.bin:$PATH"
fi
node_is_recent || { echo "setup: Node.js >= 22.19 is required and could not be installed" >&2; exit 1; }

if [ "$("$TOOLS/pnpm/node_modules/.bin/pnpm" --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION" >&2
  npm install --prefix "$TOOLS/pnpm" --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >&2
fi
PATH="$TOOLS/pnpm/node_modules/.bin:$PATH"
export PATH WAYPOINT_ROOT

stamp="$WAYPOINT_ROOT/node_modules/.setup-stamp"
lock_sum="$( (cat "$WAYPOINT_ROOT/pnpm-lock.yaml" "$WAYPOINT_ROOT"/package.json "$WAYPOINT_ROOT"/*/package.json "$WAYPOINT_ROOT"/packages/*/package.json 2>/dev/null || true) | cksum)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "setup: installing workspace packages" >&2
  (cd "$WAYPOINT_ROOT" && pnpm install --frozen-lockfile --reporter=silent >&2)
  echo "$lock_sum" > "$stamp"
fi

# The JavaScript build bin/waypoint runs (see scripts/build.ts), when a source is newer than it.
(cd "$WAYPOINT_ROOT" && node --disable-warning=ExperimentalWarning scripts/build.ts --if-stale)
