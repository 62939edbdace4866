/**
 * A V8 heap snapshot of a process, summed per module: for each script (a
 * module of Node's own library, a package under node_modules, a chunk of
 * refsync's bundle) the bytes of its source text, its compiled functions
 * (bytecode, scope and feedback metadata) and its closures; everything else
 * (objects, arrays, strings, hidden classes) by kind. It answers "where do
 * the heap's MiB go" for bench/memory.ts, which takes the snapshot of an idle
 * controller (started with --heapsnapshot-signal).
 * (No `bench()` export: bench/run.ts skips this module.)
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapSummary {
  /** Self size of all objects, bytes. */
  total: number;
  /** Source, compiled code and closures per module, bytes, largest first. */
  modules: [string, number][];
  /** The rest by kind, bytes, largest first. */
  rest: [string, number][];
}

/** Which module a script's URL belongs to. */
export function moduleOf(url: string): string {
  if (!url) return "(no script)";
  const packaged = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (packaged) return packaged[1] as string;
  const chunk = /\/dist\/bundle\/([^/]+)$/.exec(url);
  if (chunk) return `refsync bundle: ${chunkContents(fileURLToPath(url))}`;
  if (url.startsWith("node:") || !url.includes("/")) return "Node's library (lib/, built in)";
  return url;
}

/** What a chunk of the bundle holds, from marks its code carries (chunk names are hashes). */
const MARKS: [RegExp, string][] = [
  [/makePathsAbsolute/, "@kubernetes/client-node's KubeConfig"],
  [/\$ZodType/, "zod"],
  [/YAMLParseError/, "yaml"],
  [/refreshInterval/, "refsync's own code"],
];

function chunkContents(file: string): string {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return file;
  }
  const found = MARKS.filter(([mark]) => mark.test(text)).map(([, what]) => what);
  return found.length > 0 ? found.join(", ") : "refsync's own code";
}

export function summarizeHeap(file: string): HeapSummary {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const { meta } = s.snapshot;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const [fType, fName, fSelf, fEdges] = ["type", "name", "self_size", "edge_count"].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = s;
  const count = nodes.length / NF;
  const first = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    first[i] = e;
    e += (nodes[i * NF + fEdges] as number) * EF;
    first[i + 1] = e;
  }
  const type = (i: number) => nodeTypes[nodes[i * NF + fType] as number];
  const name = (i: number) => strings[nodes[i * NF + fName] as number] ?? "";
  const self = (i: number) => nodes[i * NF + fSelf] as number;
  /** Named edges of node i: [name, target]. */
  const named = function* (i: number): Generator<[string, number]> {
    for (let e = first[i] as number; e < (first[i + 1] as number); e += EF) {
      const t = edgeTypes[edges[e + eType] as number];
      if (t === "element" || t === "hidden") continue;
      yield [strings[edges[e + eName] as number] ?? "", (edges[e + eTo] as number) / NF];
    }
  };
  const labels: string[] = [];
  const labelOf = new Map<string, number>();
  const label = (m: string) => {
    let l = labelOf.get(m);
    if (l === undefined) labelOf.set(m, (l = labels.push(m) - 1));
    return l;
  };
  const owner = new Int32Array(count).fill(-1);
  // Functions (SharedFunctionInfo) name their script; a script holds its source and name.
  for (let i = 0; i < count; i++) {
    if (type(i) !== "code") continue;
    for (const [edge, script] of named(i)) {
      if (edge !== "script" || type(script) !== "code" || owner[script] !== -1) continue;
      const l = label(moduleOf(name(script)));
      owner[script] = l;
      for (const [field, to] of named(script))
        if ((field === "source" || field === "line_ends") && owner[to] === -1) owner[to] = l;
    }
  }
  // A function's bytecode and metadata are its module's.
  for (let i = 0; i < count; i++) {
    if (type(i) !== "code" || owner[i] !== -1) continue;
    let l = -1;
    for (const [edge, to] of named(i)) if (edge === "script" && owner[to] !== -1) l = owner[to] as number;
    if (l === -1) continue;
    owner[i] = l;
    for (const [, to] of named(i)) if (owner[to] === -1 && type(to) !== "string") owner[to] = l;
  }
  // A closure and its feedback are its function's module's.
  for (let i = 0; i < count; i++) {
    if (type(i) !== "closure") continue;
    let l = -1;
    for (const [edge, to] of named(i)) if (edge === "shared" && owner[to] !== -1) l = owner[to] as number;
    if (l === -1) continue;
    owner[i] = l;
    for (const [edge, to] of named(i)) if (edge === "feedback_cell" && owner[to] === -1) owner[to] = l;
  }
  let total = 0;
  const modules = new Map<string, number>();
  const rest = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    total += self(i);
    const o = owner[i] as number;
    const t = type(i) as string;
    const key =
      o !== -1
        ? (labels[o] as string)
        : t === "object"
          ? `objects (${/^system \//.test(name(i)) ? "V8 internal" : "JavaScript"})`
          : t === "code" || t === "hidden"
            ? "V8 internal (unattributed code, maps, descriptors)"
            : t === "concatenated string" || t === "sliced string"
              ? "string"
              : t;
    const into = o !== -1 ? modules : rest;
    into.set(key, (into.get(key) ?? 0) + self(i));
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, modules: sorted(modules), rest: sorted(rest) };
}
