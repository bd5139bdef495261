import { isIP } from 'node:net';

/** `ip:port` or `[ipv6]:port`, the form an HBONE CONNECT `:authority` takes. */
export function parseIpAuthority(authority: string | undefined): { host: string; port: number } | undefined {
  if (!authority) return undefined;
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']:');
    if (end < 0) return undefined;
    host = authority.slice(1, end);
    portText = authority.slice(end + 2);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (isIP(host) === 6) return undefined; // IPv6 needs brackets
  }
  if (!isIP(host) || !/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  return port > 0 && port < 65536 ? { host, port } : undefined;
}

export function formatAuthority(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The `for=` address of an RFC 7239 `forwarded` header as ztunnel writes it: `for="10.0.0.1:3456"` or `for="[::1]:80"`. */
export function forwardedFor(header: string | undefined): { address: string; port?: number } | undefined {
  if (!header) return undefined;
  const m = /(?:^|[;,\s])for="?(\[[^\]]+\](?::\d+)?|[^";,\s]+)"?/i.exec(header);
  if (!m) return undefined;
  const value = m[1]!;
  const parsed = parseIpAuthority(value);
  if (parsed) return { address: parsed.host, port: parsed.port };
  const bare = value.replace(/^\[|\]$/g, '');
  return isIP(bare) ? { address: bare } : undefined;
}
