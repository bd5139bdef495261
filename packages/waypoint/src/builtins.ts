/**
 * Node.js built-ins taken as their CommonJS exports (`process.getBuiltinModule`), not by an ESM import. An
 * ESM import of a built-in builds the module's whole namespace, which reads every lazily loaded export:
 * node:fs's `promises` loads readline and the REPL's history, node:util's exports load worker_threads and
 * the terminal code, node:crypto's load Web Crypto. A waypoint uses none of them
 * (bench/results/2026-11-30-builtins-rss.md). node:http is taken the same way in node-http.ts.
 */
export const fs = process.getBuiltinModule('node:fs');
export const util = process.getBuiltinModule('node:util');
export const crypto = process.getBuiltinModule('node:crypto');
