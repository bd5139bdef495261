import { describe, expect, it } from 'vitest';
import { memoryFigures, memoryJson } from '../src/memory.ts';

describe('memory in Envoy’s shape', () => {
  it('maps the V8 heap and the resident set onto Envoy’s fields, as decimal strings', () => {
    expect(memoryJson({ allocated: 7, heapSize: 12, physical: 15 })).toEqual({
      allocated: '7',
      heap_size: '12',
      pageheap_unmapped: '0',
      pageheap_free: '0',
      total_thread_cache: '0',
      total_physical_bytes: '15',
    });
  });

  it('reads this process: memory in use within the committed heap, both within the resident set', () => {
    const m = memoryFigures();
    expect(m.allocated).toBeGreaterThan(0);
    expect(m.heapSize).toBeGreaterThanOrEqual(m.allocated);
    expect(m.physical).toBeGreaterThan(m.heapSize - process.memoryUsage().external);
  });
});
