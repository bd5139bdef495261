export { parseRunOptions, type RunOptions } from './cli.ts';
export { run } from './run.ts';
