import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueLeaf, type CertificateAuthority, type LeafOptions } from '../src/certs.ts';
import { CredentialStore, type CredentialPaths } from '../src/index.ts';

export const TD = 'cluster.local';
export const id = (namespace: string, serviceAccount: string) => ({ trustDomain: TD, namespace, serviceAccount });

/** Writes a leaf from `ca` (and the CA as the bundle) into a fresh directory. */
export async function writeLeaf(ca: CertificateAuthority, options: LeafOptions, dir = mkdtempSync(join(tmpdir(), 'hbone-'))): Promise<CredentialPaths> {
  const leaf = await issueLeaf(ca, options);
  const paths = { cert: join(dir, 'cert-chain.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'root-cert.pem') };
  writeFileSync(paths.cert, leaf.certPem);
  writeFileSync(paths.key, leaf.keyPem);
  writeFileSync(paths.ca, ca.certPem);
  return paths;
}

export async function store(ca: CertificateAuthority, options: LeafOptions): Promise<CredentialStore> {
  return new CredentialStore(await writeLeaf(ca, options), (e) => {
    throw e;
  });
}

export { createCa };
