import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { formatSpiffeId, type SpiffeId } from './identity.ts';

x509.cryptoProvider.set(webcrypto as never);

type KeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends PemPair {
  cert: x509.X509Certificate;
  keys: KeyPair;
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

/** A self-signed root CA for a trust domain, as Istio's self-signed root (O = trust domain). */
export async function createCa(trustDomain: string, validityDays = 3650): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as KeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=${trustDomain}, CN=waypoint local CA`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validityDays * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

/** Loads a CA from PEM so that more leaves can be issued from it. */
export async function loadCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(certPem);
  const der = x509.PemConverter.decode(keyPem)[0]!;
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
  const publicKey = await cert.publicKey.export(ALG, ['verify']);
  return { cert, keys: { privateKey, publicKey } as unknown as KeyPair, certPem, keyPem };
}

export interface LeafOptions {
  /** The SPIFFE identity for the URI SAN; omit to issue a certificate without one. */
  identity?: SpiffeId;
  /** DNS SANs (a non-SPIFFE certificate when no identity is given). */
  dnsNames?: string[];
  validityDays?: number;
  /** Shift the validity window into the past, to make an already expired certificate. */
  expired?: boolean;
}

/** A workload leaf certificate signed by `ca`, usable for both TLS client and server auth. */
export async function issueLeaf(ca: CertificateAuthority, options: LeafOptions): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as KeyPair;
  const validity = (options.validityDays ?? 1) * DAY;
  const start = options.expired ? Date.now() - 2 * validity : Date.now() - 60_000;
  const sans: x509.JsonGeneralName[] = [];
  if (options.identity) sans.push({ type: 'url', value: formatSpiffeId(options.identity) });
  for (const d of options.dnsNames ?? []) sans.push({ type: 'dns', value: d });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: '',
    issuer: ca.cert.subject,
    notBefore: new Date(start),
    notAfter: new Date(start + validity),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(sans, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}
