import { CORE_SCHEMA, loadAll } from 'js-yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import type { Diagnostic } from './diagnostics.ts';

/** One YAML document of a config file, with a way to find where a field was written. */
export interface SourceDocument {
  file: string;
  /** Zero-based position of the document within its file. */
  index: number;
  value: unknown;
  /** Line and column (1-based) of the deepest existing node on `path`. */
  locate(path: readonly (string | number)[]): { line: number; col: number };
}

export interface ParsedFile {
  documents: SourceDocument[];
  diagnostics: Diagnostic[];
}

let yamlModule: typeof import('yaml') | undefined;
/**
 * The positional parser (the `yaml` package), loaded the first time a position or its error reports are
 * needed. Most configs are read by the fast parser alone, so most processes never load it: about 1.5 MB of
 * heap.
 */
function positionalParser(): typeof import('yaml') {
  return (yamlModule ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)('yaml') as typeof import('yaml'));
}

/** An anchor (`&a`) or alias (`*a`) token; their expansion is bounded by the positional parser only. */
const ANCHOR_OR_ALIAS = /(?:^|[\s,[{])[&*][^\s,[\]{}]/;

/**
 * Parses multi-document YAML (1.2, core schema). A document with syntax errors is reported and left out.
 *
 * Most configs are valid, and positions are needed only for diagnostics, so a fast parser reads the text
 * first and the positional parser runs (once per file) only when a location is asked for. Text the fast
 * parser rejects, and text with anchors or aliases, goes to the positional parser straight away, which
 * reports every syntax error with its position and bounds alias expansion.
 */
export function parseYamlFile(file: string, text: string): ParsedFile {
  if (!ANCHOR_OR_ALIAS.test(text)) {
    let values: unknown[] | undefined;
    try {
      values = loadAll(text, undefined, { schema: CORE_SCHEMA, filename: file });
    } catch {
      values = undefined;
    }
    if (values) {
      let positional: Document[] | undefined;
      let lineCounter: LineCounter | undefined;
      const documents: SourceDocument[] = [];
      values.forEach((value, index) => {
        if (value === null || value === undefined) return;
        documents.push({
          file,
          index,
          value,
          locate(path) {
            if (!positional) {
              const yaml = positionalParser();
              lineCounter = new yaml.LineCounter();
              positional = yaml.parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true }) as Document[];
            }
            const doc = positional[index];
            return doc ? locateIn(doc, path, lineCounter!) : { line: 1, col: 1 };
          },
        });
      });
      return { documents, diagnostics: [] };
    }
  }
  return parsePositional(file, text);
}

function parsePositional(file: string, text: string): ParsedFile {
  const yaml = positionalParser();
  const lineCounter = new yaml.LineCounter();
  const docs = yaml.parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const documents: SourceDocument[] = [];
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const at = lineCounter.linePos(err.pos[0]);
        diagnostics.push({
          severity: 'error',
          file,
          line: at.line,
          col: at.col,
          message: `invalid YAML: ${firstLine(err.message)}`,
        });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    } catch (e) {
      // Alias expansion beyond the bound (a "billion laughs" document) throws rather than reports.
      const at = lineCounter.linePos(doc.contents?.range?.[0] ?? 0);
      diagnostics.push({ severity: 'error', file, line: at.line, col: at.col, message: `invalid YAML: ${firstLine((e as Error).message)}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document between separators
    documents.push({ file, index, value, locate: (path) => locateIn(doc, path, lineCounter) });
  });
  return { documents, diagnostics };
}

/** Line and column of the deepest existing node on `path` within a positional document. */
function locateIn(doc: Document, path: readonly (string | number)[], lineCounter: LineCounter): { line: number; col: number } {
  const { isMap, isPair, isScalar, isSeq } = positionalParser();
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
      if (keyRange) offset = keyRange[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) break;
      if (item.range) offset = item.range[0];
      node = item;
    } else {
      break;
    }
  }
  return lineCounter.linePos(offset);
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}
