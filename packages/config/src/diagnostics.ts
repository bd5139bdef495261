/** A problem found in configuration, located as precisely as the source allows. */
export type Severity = 'error' | 'warning' | 'notice';

export interface Diagnostic {
  severity: Severity;
  file: string;
  line: number;
  col: number;
  /** `Kind/namespace/name` (`Kind/name` for cluster-scoped kinds), when the document has one. */
  resource?: string;
  /** Dotted field path such as `spec.rules[0].matches[1].path.value`. */
  field?: string;
  message: string;
}

/** `file:line:col kind/namespace/name field.path: reason`, with the severity first for warnings and notices. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const subject = [d.resource, d.field].filter(Boolean).join(' ');
  const label = d.severity === 'error' ? '' : `${d.severity}: `;
  return `${where} ${label}${subject ? `${subject}: ` : ''}${d.message}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Turns a JSON-pointer-like segment list into `a.b[0].c`. */
export function fieldPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
