import { formatDiagnostic, loadConfig, type Diagnostic } from '@waypoint/config';
import { describeUnreachable, Router } from '@waypoint/routing';
import { readConfig } from './config-files.ts';

/** `waypoint validate`: every problem, one per line, sorted by place; exit 1 when any is an error. */
export function validateCommand(configPaths: string[], namespace: string, write: (line: string) => void): number {
  const read = readConfig(configPaths);
  const result = loadConfig(read.files, { defaultNamespace: namespace });
  const all: Diagnostic[] = [...read.diagnostics, ...result.diagnostics].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col),
  );
  for (const d of all) write(formatDiagnostic(d));
  // Route status as a controller would write it back: one line per route and parent.
  for (const route of result.ir?.httpRoutes ?? []) {
    for (const st of route.status) {
      const p = st.parentRef;
      const parent = `${p.kind === 'Service' ? 'Service' : p.kind}/${p.namespace}/${p.name}${p.sectionName ? `/${p.sectionName}` : ''}${p.port ? `:${p.port}` : ''}`;
      const conditions = st.conditions.map((c) => `${c.type}=${c.status}${c.status === 'True' ? '' : ` (${c.reason})`}`).join(', ');
      write(`status: ${route.kind ?? 'HTTPRoute'}/${route.namespace}/${route.name} parent ${parent}: ${conditions}`);
    }
  }
  // Matches no request can reach (the same conditions as a match that precedes them), per parent.
  if (result.ir && !all.some((d) => d.severity === 'error')) {
    for (const u of new Router(result.ir, { namespace }).unreachableMatches()) write(`unreachable: ${describeUnreachable(u.parent, u.match)}`);
  }
  const errors = all.filter((d) => d.severity === 'error').length;
  const warnings = all.filter((d) => d.severity === 'warning').length;
  const files = read.files.length;
  write(
    errors
      ? `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}: the config would be rejected`
      : `ok: ${files} file${files === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
  );
  return errors ? 1 : 0;
}
