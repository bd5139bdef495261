/**
 * Loads a config (parse, validate, translate) off the main thread and posts the result back: a large
 * config takes seconds to load, which the event loop must not spend while it serves traffic.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig, type ConfigText } from '@waypoint/config';
import { toParts } from './config-transfer.ts';

const { files, namespace } = workerData as { files: ConfigText[]; namespace: string };
// As JSON text: the IR is plain data, and JSON.parse on the main thread takes about half as long as
// receiving the same object graph by structured clone. In parts, so that no single parse holds the main thread long.
parentPort!.postMessage(toParts(loadConfig(files, { defaultNamespace: namespace })));
