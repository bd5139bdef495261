import { fs } from './builtins.ts';
import { join } from 'node:path';
import type { CertsOptions } from './cli.ts';

/**
 * `waypoint certs`: a local CA (kept in DIR and reused by later calls) and one SPIFFE leaf per identity,
 * laid out as Istio mounts them: DIR/<ns>/<sa>/{cert-chain.pem,key.pem,root-cert.pem}.
 */
export async function certsCommand(options: CertsOptions, write: (line: string) => void): Promise<number> {
  const { createCa, loadCa, issueLeaf } = await import('@waypoint/hbone/certs');
  fs.mkdirSync(options.out, { recursive: true });
  const caCert = join(options.out, 'root-cert.pem');
  const caKey = join(options.out, 'ca-key.pem');
  let ca;
  if (fs.existsSync(caCert) && fs.existsSync(caKey)) {
    ca = await loadCa(fs.readFileSync(caCert, 'utf8'), fs.readFileSync(caKey, 'utf8'));
    write(`using the CA in ${caCert}`);
  } else {
    ca = await createCa(options.trustDomain);
    fs.writeFileSync(caCert, ca.certPem);
    fs.writeFileSync(caKey, ca.keyPem, { mode: 0o600 });
    write(`created a CA for trust domain ${options.trustDomain}: ${caCert}`);
  }
  const leaves = options.identities.length
    ? options.identities.map((id) => ({ dir: join(options.out, id.namespace, id.serviceAccount), identity: { trustDomain: options.trustDomain, ...id } }))
    : [{ dir: join(options.out, 'dns', options.dnsNames[0]!), identity: undefined }];
  for (const leaf of leaves) {
    const pem = await issueLeaf(ca, { ...(leaf.identity ? { identity: leaf.identity } : {}), dnsNames: options.dnsNames, validityDays: options.days, expired: options.expired });
    fs.mkdirSync(leaf.dir, { recursive: true });
    fs.writeFileSync(join(leaf.dir, 'cert-chain.pem'), pem.certPem);
    fs.writeFileSync(join(leaf.dir, 'key.pem'), pem.keyPem, { mode: 0o600 });
    fs.writeFileSync(join(leaf.dir, 'root-cert.pem'), ca.certPem);
    const name = leaf.identity ? `spiffe://${options.trustDomain}/ns/${leaf.identity.namespace}/sa/${leaf.identity.serviceAccount}` : options.dnsNames.join(', ');
    write(`${name}: ${leaf.dir}/{cert-chain.pem,key.pem,root-cert.pem}`);
  }
  return 0;
}
