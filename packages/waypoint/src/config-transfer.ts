import type { ConfigIR, LoadResult } from '@waypoint/config';

/**
 * A LoadResult as JSON text in parts, for the trip from the config worker to the main thread: the large
 * lists travel in chunks, so that the main thread parses them a chunk at a time between requests instead
 * of spending one long JSON.parse (over 100 ms for 5,000 routes) in which it answers nothing.
 */
export interface LoadResultParts {
  /** The result with every chunked list empty. */
  head: string;
  /** In order: items of `list` (an IR list, or `diagnostics`) to append. */
  chunks: { list: ChunkedList; json: string }[];
}

type IrList = 'services' | 'pods' | 'gateways' | 'httpRoutes' | 'virtualServices' | 'destinationRules';
type ChunkedList = IrList | 'diagnostics';
const IR_LISTS: readonly IrList[] = ['services', 'pods', 'gateways', 'httpRoutes', 'virtualServices', 'destinationRules'];

/** Items per chunk: a few milliseconds of JSON.parse for the largest items (routes). */
export const CHUNK_ITEMS = 200;

export function toParts(result: LoadResult, chunkItems = CHUNK_ITEMS): LoadResultParts {
  const chunks: LoadResultParts['chunks'] = [];
  const split = <T>(list: ChunkedList, items: readonly T[]): T[] => {
    for (let i = 0; i < items.length; i += chunkItems) chunks.push({ list, json: JSON.stringify(items.slice(i, i + chunkItems)) });
    return [];
  };
  const diagnostics = split('diagnostics', result.diagnostics);
  if (!result.ir) return { head: JSON.stringify({ diagnostics }), chunks };
  const ir: ConfigIR = { ...result.ir };
  for (const list of IR_LISTS) (ir[list] as unknown[]) = split(list, result.ir[list] as readonly unknown[]);
  return { head: JSON.stringify({ ir, diagnostics }), chunks };
}

/** The LoadResult again, one chunk per turn of the event loop. */
export async function fromParts(parts: LoadResultParts): Promise<LoadResult> {
  const result = JSON.parse(parts.head) as LoadResult;
  for (const { list, json } of parts.chunks) {
    await new Promise((r) => setImmediate(r));
    const target = (list === 'diagnostics' ? result.diagnostics : result.ir?.[list]) as unknown[] | undefined;
    if (!target) throw new Error(`config parts: a chunk of ${list} for a result without it`);
    for (const item of JSON.parse(json) as unknown[]) target.push(item);
  }
  return result;
}
