/**
 * Loads a config (parse, validate, translate) off the main thread and posts the result back: a large
 * config takes seconds to load, which the event loop must not spend while it serves traffic.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig, type ConfigText } from '@waypoint/config';

const { files, namespace } = workerData as { files: ConfigText[]; namespace: string };
parentPort!.postMessage(loadConfig(files, { defaultNamespace: namespace }));
