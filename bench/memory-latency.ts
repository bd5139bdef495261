/**
 * The cost of one memory read that misses the caches, on this machine: a pointer chase through a typed
 * array, each read depending on the one before, over working sets of several sizes.
 *
 *   node bench/memory-latency.ts [--sizes 1,8,32,128] [--steps 2000000]
 *
 * Reading a route decision's cost when its tables are cold (bench/routing.ts) needs this figure.
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1,8,32,128' }, steps: { type: 'string', default: '2000000' } } });
const STEPS = Number(values.steps);
const LINE = 16; // 64-byte cache lines of 4-byte integers

for (const mb of values.sizes.split(',').map(Number)) {
  const words = (mb * 1024 * 1024) / 4;
  const lines = words / LINE;
  const chase = new Int32Array(words);
  // One random cycle through every cache line, so that no read can be predicted or prefetched.
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < lines; i++) chase[order[i]! * LINE] = order[(i + 1) % lines]! * LINE;
  let at = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < STEPS; i++) at = chase[at]!;
  const ns = Number(process.hrtime.bigint() - start) / STEPS;
  if (at < 0 || at >= words) throw new Error('the chase left the array');
  console.log(`${mb} MB working set: ${ns.toFixed(1)} ns per dependent read`);
}
