import type { X509Certificate } from 'node:crypto';

/** A SPIFFE workload identity as Istio issues it: `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`. */
export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

const SPIFFE_RE = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

export function parseSpiffeId(uri: string): SpiffeId | undefined {
  const m = SPIFFE_RE.exec(uri);
  return m ? { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! } : undefined;
}

export function formatSpiffeId(id: SpiffeId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** The URI SANs of a certificate, in order. */
export function uriSans(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

/** The SPIFFE identity in a certificate's URI SAN, if it has exactly one. */
export function spiffeIdOf(cert: X509Certificate): SpiffeId | undefined {
  const ids = uriSans(cert).map(parseSpiffeId).filter((x): x is SpiffeId => !!x);
  return ids.length === 1 ? ids[0] : undefined;
}
