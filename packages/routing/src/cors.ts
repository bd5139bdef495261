import { compileRegex, type CorsIR } from '@waypoint/config';

/** A CORS policy compiled for the proxy: the origin test, and the response header values, joined once. */
export interface CorsPolicy {
  allowsOrigin(origin: string): boolean;
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  maxAge: string;
  allowCredentials: boolean;
  forwardUnmatchedPreflights: boolean;
}

export function corsPolicy(ir: CorsIR): CorsPolicy {
  const tests = ir.allowOrigins.map((m): ((o: string) => boolean) => {
    if (m.type === 'exact') return (o) => o === m.value;
    if (m.type === 'prefix') return (o) => o.startsWith(m.value);
    const { regex } = compileRegex(m.value);
    return regex ? (o) => regex.test(o) : () => false;
  });
  // Envoy allows every origin when a matcher takes the literal "*" (an exact "*", or ".*").
  const any = tests.some((t) => t('*'));
  return {
    allowsOrigin: (origin) => any || tests.some((t) => t(origin)),
    allowMethods: ir.allowMethods.join(','),
    allowHeaders: ir.allowHeaders.join(','),
    exposeHeaders: ir.exposeHeaders.join(','),
    maxAge: ir.maxAgeSeconds !== undefined ? String(ir.maxAgeSeconds) : '',
    allowCredentials: ir.allowCredentials,
    forwardUnmatchedPreflights: ir.forwardUnmatchedPreflights,
  };
}
