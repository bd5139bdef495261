import { describe, expect, it } from 'vitest';
import { parseRunOptions, type RunOptions } from '../src/cli.ts';
import { parseHttpListen, parseListenAddress } from '../src/listen-address.ts';

const parse = (args: string[], env: Record<string, string> = {}) => parseRunOptions(args, env) as RunOptions;

describe('run options', () => {
  it('applies the process contract defaults', () => {
    const o = parse(['--config', 'a.yaml', '--http-listen', '127.0.0.1:8080']);
    expect(o.admin).toEqual({ host: '127.0.0.1', port: 15000 });
    expect(o.stats).toEqual({ host: '0.0.0.0', port: 15020 });
    expect(o.health).toEqual({ host: '0.0.0.0', port: 15021 });
    expect(o.namespace).toBe('default');
    expect(o.httpListen).toEqual([{ address: { host: '127.0.0.1', port: 8080 }, gatewayPort: 8080 }]);
    expect(o.accessLog).toBe('off');
    expect(o.logLevel).toBe('info');
    expect(o.hboneListen).toEqual({ host: '0.0.0.0', port: 15008 });
    expect(o.upstream).toBe('hbone');
    expect([o.cert, o.key, o.ca]).toEqual(['/etc/certs/cert-chain.pem', '/etc/certs/key.pem', '/etc/certs/root-cert.pem']);
  });

  it('needs no --http-listen when HBONE listens, and refuses to run with no listener at all', () => {
    expect(parse(['--config', 'a']).httpListen).toEqual([]);
    expect(() => parseRunOptions(['--config', 'a', '--hbone-listen', 'off'], {})).toThrow(/no listener/);
  });

  it('takes repeated flags, ADDR=PORT and off', () => {
    const o = parse(['--config', 'a', '--config', 'b', '--http-listen', '127.0.0.1:8080=80', '--http-listen', '[::1]:9090', '--admin', 'off', '--stats', 'off']);
    expect(o.configPaths).toEqual(['a', 'b']);
    expect(o.httpListen.map((h) => [h.address.host, h.address.port, h.gatewayPort])).toEqual([
      ['127.0.0.1', 8080, 80],
      ['::1', 9090, 9090],
    ]);
    expect(o.admin).toBeUndefined();
    expect(o.stats).toBeUndefined();
  });

  it('reads WAYPOINT_* variables and POD_NAMESPACE, flags winning', () => {
    const env = { WAYPOINT_CONFIG: 'x.yaml,y.yaml', WAYPOINT_HTTP_LISTEN: '127.0.0.1:1=80', WAYPOINT_ACCESS_LOG: 'json', POD_NAMESPACE: 'team' };
    const o = parse([], env);
    expect(o.configPaths).toEqual(['x.yaml', 'y.yaml']);
    expect(o.accessLog).toBe('json');
    expect(o.namespace).toBe('team');
    expect(parse(['--namespace', 'other'], env).namespace).toBe('other');
  });

  it.each([
    [['--http-listen', '127.0.0.1:1'], /no config/],
    [['--config', 'a', '--http-listen', 'localhost:http'], /port is not a number/],
    [['--config', 'a', '--http-listen', '127.0.0.1:99999'], /out of range/],
    [['--config', 'a', '--http-listen', '127.0.0.1:80=0'], /Gateway port after "=" must be 1-65535/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--access-log', 'xml'], /--access-log must be text, json or off/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--upstream', 'carrier-pigeon'], /--upstream must be hbone or plain/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--log-level', 'verbose'], /--log-level must be one of fatal, error, warn, info, debug, trace, silent \(got "verbose"\)/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--drain-time', '1.5'], /--drain-time must be a whole number/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--bogus'], /Unknown option '--bogus'/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--kube'], /--kube .* is not supported yet/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--concurrency', '0'], /--concurrency must be .*1.*64/],
    [['--config', 'a', '--http-listen', '127.0.0.1:1', '--concurrency', '65'], /--concurrency must be .*1.*64/],
  ])('%j is refused with a clear message', (args, message) => {
    expect(() => parseRunOptions(args, {})).toThrow(message);
  });
});

describe('listen addresses', () => {
  it.each([
    ['8080', { host: '0.0.0.0', port: 8080 }],
    ['127.0.0.2:0', { host: '127.0.0.2', port: 0 }],
    ['[::]:15008', { host: '::', port: 15008 }],
  ])('%s', (text, expected) => expect(parseListenAddress(text)).toEqual(expected));

  it('refuses an unbracketed IPv6 address', () => expect(() => parseListenAddress('::1:80')).toThrow(/brackets/));
  it('maps a listener to a Gateway port', () => expect(parseHttpListen('127.0.0.1:18080=80').gatewayPort).toBe(80));
});
