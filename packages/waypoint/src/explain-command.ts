import { formatDiagnostic, loadConfig } from '@waypoint/config';
import { formatTrace, Router } from '@waypoint/routing';
import type { ExplainOptions } from './cli.ts';
import { readConfig } from './config-files.ts';

/** `waypoint explain`: how the config routes one request, step by step; exit 1 when the config would be rejected. */
export function explainCommand(o: ExplainOptions, write: (line: string) => void): number {
  const read = readConfig(o.configPaths);
  const result = loadConfig(read.files, { defaultNamespace: o.namespace });
  const errors = [...read.diagnostics, ...result.diagnostics].filter((d) => d.severity === 'error');
  if (!result.ir || errors.length) {
    for (const d of errors) write(formatDiagnostic(d));
    write(`the config would be rejected (${errors.length} error${errors.length === 1 ? '' : 's'}); nothing to explain`);
    return 1;
  }
  const router = new Router(result.ir, { namespace: o.namespace });
  const trace = router.explain(o.via, o.host, { method: o.method, path: o.path, query: o.query, headers: o.headers });
  if (o.json) write(JSON.stringify(trace, null, 2));
  else for (const line of formatTrace(trace)) write(line);
  return 0;
}
