import { LineCounter, parseAllDocuments, isMap, isSeq, isPair, isScalar, type Node as YamlNode } from 'yaml';
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

/** Parses multi-document YAML. A document with syntax errors is reported and left out. */
export function parseYamlFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const documents: SourceDocument[] = [];
  docs.forEach((doc, index) => {
    const pos = (offset: number) => lineCounter.linePos(offset);
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const at = pos(err.pos[0]);
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
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) return; // an empty document between separators
    const start = doc.contents?.range?.[0] ?? 0;
    const root = doc.contents as YamlNode | null;
    documents.push({
      file,
      index,
      value,
      locate(path) {
        let node: unknown = root;
        let offset = start;
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
        return pos(offset);
      },
    });
  });
  return { documents, diagnostics };
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}
