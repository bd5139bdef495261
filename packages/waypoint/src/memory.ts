/**
 * The process's memory in the shape Envoy reports it (`/memory`, `server.memory_*`), read from Node.js:
 * what Envoy's allocator calls allocated is here the V8 heap in use plus memory held outside it by
 * JavaScript objects (Buffers); its heap size is the V8 heap committed plus that outside memory; physical
 * bytes are the resident set. Envoy's page-heap and thread-cache figures have no counterpart and are 0.
 */
export interface MemoryFigures {
  allocated: number;
  heapSize: number;
  physical: number;
}

export function memoryFigures(): MemoryFigures {
  const m = process.memoryUsage();
  return { allocated: m.heapUsed + m.external, heapSize: m.heapTotal + m.external, physical: m.rss };
}

/** Envoy's `/memory` JSON: every value a decimal string, as Envoy prints uint64s. */
export function memoryJson(f: MemoryFigures = memoryFigures()): Record<string, string> {
  return {
    allocated: String(f.allocated),
    heap_size: String(f.heapSize),
    pageheap_unmapped: '0',
    pageheap_free: '0',
    total_thread_cache: '0',
    total_physical_bytes: String(f.physical),
  };
}
