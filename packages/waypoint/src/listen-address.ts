/** A socket address to listen on, parsed from `host:port`, `[v6]:port` or a bare port. */
export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(text: string): ListenAddress {
  const bad = (why: string) => new Error(`invalid listen address ${JSON.stringify(text)}: ${why} (expected HOST:PORT, [IPv6]:PORT or PORT)`);
  let host = '0.0.0.0';
  let portText = text;
  if (text.startsWith('[')) {
    const end = text.indexOf(']:');
    if (end < 0) throw bad('missing "]:PORT"');
    host = text.slice(1, end);
    portText = text.slice(end + 2);
  } else if (text.includes(':')) {
    const colon = text.lastIndexOf(':');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('an IPv6 host needs brackets');
  }
  if (!/^\d+$/.test(portText)) throw bad('the port is not a number');
  const port = Number(portText);
  if (port > 65535) throw bad('the port is out of range');
  if (!host) throw bad('the host is empty');
  return { host, port };
}

export function formatAddress(a: { host?: string; address?: string; port: number }): string {
  const host = a.host ?? a.address ?? '';
  return host.includes(':') ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

/** `ADDR[=PORT]`: a plain HTTP listener on ADDR serving the Gateway listeners of port PORT (default ADDR's port). */
export interface HttpListenSpec {
  address: ListenAddress;
  gatewayPort: number;
}

export function parseHttpListen(text: string): HttpListenSpec {
  const eq = text.lastIndexOf('=');
  const address = parseListenAddress(eq >= 0 ? text.slice(0, eq) : text);
  if (eq < 0) return { address, gatewayPort: address.port };
  const portText = text.slice(eq + 1);
  const gatewayPort = Number(portText);
  if (!/^\d+$/.test(portText) || gatewayPort < 1 || gatewayPort > 65535) {
    throw new Error(`invalid --http-listen ${JSON.stringify(text)}: the Gateway port after "=" must be 1-65535`);
  }
  return { address, gatewayPort };
}
