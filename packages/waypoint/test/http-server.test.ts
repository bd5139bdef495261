import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isRefusedUpgrade, isWebSocketUpgrade } from '../src/http-server.ts';

const req = (headers: Record<string, string>) => ({ headers, rawHeaders: Object.entries(headers).flat() }) as unknown as IncomingMessage;

describe('which upgrades the HTTP/1.1 server hands over', () => {
  it.each([
    // Handed over; refused only should one reach the ordinary request path (a Node.js without shouldUpgradeCallback).
    [{ upgrade: 'websocket', connection: 'Upgrade' }, true, true],
    [{ upgrade: 'WebSocket', connection: 'keep-alive, Upgrade' }, true, true], // Firefox's Connection
    [{ upgrade: 'websocket' }, false, false], // no Connection token: not an upgrade, an ordinary request
    [{ upgrade: 'websocket', connection: 'keep-alive' }, false, false],
    [{ upgrade: 'h2c', connection: 'Upgrade, HTTP2-Settings' }, false, false], // served as HTTP/1.1
    [{ upgrade: 'foo/1', connection: 'upgrade' }, false, true],
    [{ upgrade: 'websocket, foo', connection: 'upgrade' }, false, true],
    [{ connection: 'upgrade' }, false, false],
  ])('%j: WebSocket %s, refused on the request path %s', (headers, websocket, refused) => {
    expect(isWebSocketUpgrade(req(headers))).toBe(websocket);
    expect(isRefusedUpgrade(req(headers))).toBe(refused);
  });
});
