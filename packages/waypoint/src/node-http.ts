import { createRequire } from 'node:module';
import type * as Http from 'node:http';

/**
 * `node:http`, taken with require. An ESM import of `node:http` builds the module's whole namespace, and
 * reading http's WebSocket, CloseEvent and MessageEvent exports loads the fetch/WebSocket implementation
 * bundled with Node.js (undici): about 13 MB of memory for code the waypoint never runs.
 */
const http = createRequire(import.meta.url)('node:http') as typeof Http;

export const { createServer, request, ServerResponse, STATUS_CODES } = http;
export type ServerResponse = Http.ServerResponse;
