import { hasErrors, type Diagnostic } from './diagnostics.ts';
import type { ConfigIR } from './ir.ts';
import { parseYamlFile } from './source.ts';
import { translate } from './translate.ts';
import { validateDocument, type SourcedResource } from './validate.ts';

export interface ConfigText {
  file: string;
  text: string;
}

export interface LoadOptions {
  /** Namespace for resources that do not name one (the waypoint's own namespace). */
  defaultNamespace: string;
}

export interface LoadResult {
  /** Present only when there are no errors: a config with errors never takes effect. */
  ir?: ConfigIR;
  diagnostics: Diagnostic[];
}

/** Parses, validates and translates a set of config files into one IR. */
export function loadConfig(files: readonly ConfigText[], options: LoadOptions): LoadResult {
  const diagnostics: Diagnostic[] = [];
  const resources: SourcedResource[] = [];
  for (const { file, text } of files) {
    const parsed = parseYamlFile(file, text);
    diagnostics.push(...parsed.diagnostics);
    for (const doc of parsed.documents) {
      const v = validateDocument(doc, options.defaultNamespace);
      diagnostics.push(...v.diagnostics);
      resources.push(...v.resources);
    }
  }
  const { ir, diagnostics: more } = translate(resources);
  diagnostics.push(...more);
  return hasErrors(diagnostics) ? { diagnostics } : { ir, diagnostics };
}
