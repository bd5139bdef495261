/** Reading a V8 .cpuprofile (node --cpu-prof): its call-tree nodes, and each node's own sampled time. */
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  byId: Map<number, ProfileNode>;
  /** Node id → microseconds sampled in that node itself (not its callees). */
  self: Map<number, number>;
}

export function readProfile(file: string): Profile {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const self = new Map<number, number>();
  raw.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + Math.max(0, raw.timeDeltas[i] ?? 0)));
  return { nodes: raw.nodes, byId: new Map(raw.nodes.map((n) => [n.id, n])), self };
}
