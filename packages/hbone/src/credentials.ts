import type { X509Certificate } from 'node:crypto';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { crypto, fs, tls } from './builtins.ts';
import { formatSpiffeId, spiffeIdOf, type SpiffeId } from './identity.ts';

export interface CredentialPaths {
  cert: string;
  key: string;
  ca: string;
}

/** A loaded certificate chain, key and trust bundle, checked to belong together. */
export interface Credentials {
  cert: string;
  key: string;
  ca: string;
  identity: SpiffeId;
  notAfter: Date;
  serialNumber: string;
}

type PemTexts = Pick<Credentials, 'cert' | 'key' | 'ca'>;

function readTexts(paths: CredentialPaths): PemTexts {
  const read = (what: string, path: string) => {
    try {
      return fs().readFileSync(path, 'utf8');
    } catch (e) {
      throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  return { cert: read('certificate', paths.cert), key: read('private key', paths.key), ca: read('trust bundle', paths.ca) };
}

/** Reads and checks the PEM files; throws an Error whose message says what to fix. */
export function loadCredentials(paths: CredentialPaths): Credentials {
  return checkCredentials(readTexts(paths), paths);
}

function checkCredentials({ cert, key, ca }: PemTexts, paths: CredentialPaths): Credentials {
  let leaf: X509Certificate;
  try {
    leaf = new (crypto().X509Certificate)(cert);
  } catch (e) {
    throw new Error(`${paths.cert} is not a PEM certificate: ${(e as Error).message}`);
  }
  try {
    if (!leaf.checkPrivateKey(crypto().createPrivateKey(key))) throw new Error('it does not match the certificate');
  } catch (e) {
    throw new Error(`private key ${paths.key} is unusable: ${(e as Error).message}`);
  }
  try {
    tls().createSecureContext({ cert, key, ca });
  } catch (e) {
    throw new Error(`cannot build TLS credentials from ${paths.cert}, ${paths.key}, ${paths.ca}: ${(e as Error).message}`);
  }
  const identity = spiffeIdOf(leaf);
  if (!identity) throw new Error(`${paths.cert} has no SPIFFE identity (URI SAN spiffe://<trust domain>/ns/<ns>/sa/<sa>)`);
  return { cert, key, ca, identity, notAfter: new Date(leaf.validTo), serialNumber: leaf.serialNumber };
}

export function describeCredentials(c: Credentials): string {
  return `${formatSpiffeId(c.identity)} (serial ${c.serialNumber}, valid until ${c.notAfter.toISOString()})`;
}

/** TLS options every HBONE endpoint uses: TLS 1.3 only, ALPN h2, mutual authentication against the bundle. */
export function tlsOptions(c: Credentials): SecureContextOptions & { minVersion: 'TLSv1.3'; maxVersion: 'TLSv1.3'; ALPNProtocols: string[] } {
  return { cert: c.cert, key: c.key, ca: c.ca, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ALPNProtocols: ['h2'] };
}

/**
 * Holds the credentials in force and reloads them when the files change (as Kubernetes secret
 * mounts do on rotation). A bad rotation is reported and the previous credentials stay in force.
 */
export class CredentialStore {
  #current: Credentials;
  readonly #paths: CredentialPaths;
  readonly #watchers: FSWatcher[] = [];
  readonly #listeners: ((c: Credentials) => void)[] = [];
  readonly #onError: (err: Error) => void;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #lastError: string | undefined;

  constructor(paths: CredentialPaths, onError: (err: Error) => void) {
    this.#paths = paths;
    this.#onError = onError;
    this.#current = loadCredentials(paths);
  }

  get current(): Credentials {
    return this.#current;
  }

  onRotate(listener: (c: Credentials) => void): void {
    this.#listeners.push(listener);
  }

  /** Starts watching the files' directories, with a periodic check as a backstop. */
  watch(pollMs = 2000): void {
    for (const dir of new Set([this.#paths.cert, this.#paths.key, this.#paths.ca].map((p) => dirname(p)))) {
      try {
        const w = fs().watch(dir, { persistent: false }, () => this.#schedule());
        w.on('error', () => undefined);
        this.#watchers.push(w);
      } catch {
        // the poll covers a directory that cannot be watched
      }
    }
    this.#poll = setInterval(() => this.reload(), pollMs);
    this.#poll.unref();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.reload(), 100);
    this.#timer.unref();
  }

  /** Re-reads the files; returns whether new credentials took effect. Each bad state is reported once. */
  reload(): boolean {
    let texts: PemTexts;
    let next: Credentials;
    try {
      texts = readTexts(this.#paths);
      if (texts.cert === this.#current.cert && texts.key === this.#current.key && texts.ca === this.#current.ca) return false;
      next = checkCredentials(texts, this.#paths);
    } catch (e) {
      const message = (e as Error).message;
      if (message !== this.#lastError) this.#onError(e as Error);
      this.#lastError = message;
      return false;
    }
    this.#lastError = undefined;
    this.#current = next;
    for (const l of this.#listeners) l(next);
    return true;
  }

  close(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    for (const w of this.#watchers) w.close();
  }
}
