/**
 * `refsync render` (deferred mode) on a generated tree of 2,000 documents
 * holding 1,000 references, against a bare `yaml` parse + stringify of the
 * same files in the same run. Target: ratio ≤ 1.5. The ratio is of CPU
 * time (user + system of this process), which the other work on a shared
 * machine disturbs far less than wall time; wall time is shown beside it.
 *   node bench/render.ts
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";
import { runRender } from "../src/cli/render.ts";
import type { BenchResult } from "./run.ts";

const FILES = 200;
const DOCS_PER_FILE = 10; // 2,000 documents
// Every other document is a Secret with one reference: 1,000 references.

function secret(i: number): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: app-${i}
  namespace: team-${i % 20}
  labels:
    app: app-${i}
type: Opaque
stringData:
  password: ref+vault://team-${i % 20}/app-${i}#password
`;
}

function deployment(i: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: team-${i % 20}
  labels:
    app: app-${i}
spec:
  replicas: ${1 + (i % 3)}
  selector:
    matchLabels:
      app: app-${i}
  template:
    metadata:
      labels:
        app: app-${i}
    spec:
      containers:
        - name: app
          image: registry.example/app-${i}:1.${i}
          ports:
            - containerPort: 8080
          env:
            - name: LOG_LEVEL
              value: info
          envFrom:
            - secretRef:
                name: app-${i}
`;
}

async function generate(dir: string): Promise<void> {
  for (let f = 0; f < FILES; f++) {
    const sub = join(dir, `app-${f % 20}`);
    await mkdir(sub, { recursive: true });
    const docs: string[] = [];
    for (let d = 0; d < DOCS_PER_FILE; d++) {
      const i = f * DOCS_PER_FILE + d;
      docs.push(d % 2 === 0 ? secret(i) : deployment(i));
    }
    await writeFile(join(sub, `manifests-${f}.yaml`), docs.join("---\n"));
  }
}

async function baseline(dir: string): Promise<string> {
  let out = "";
  for (const sub of (await readdir(dir)).sort()) {
    for (const file of (await readdir(join(dir, sub))).sort()) {
      const values = parseAllDocuments(await readFile(join(dir, sub, file), "utf8")).map(
        (d) => d.toJS() as unknown,
      );
      out += values.map((v) => stringify(v)).join("---\n");
    }
  }
  return out;
}

async function renderTree(dir: string): Promise<string> {
  let out = "";
  const code = await runRender([dir], undefined, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => process.stderr.write(s) },
    env: {},
  });
  if (code !== 0) throw new Error(`render failed with exit code ${code}`);
  return out;
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function time(fn: () => Promise<unknown>): Promise<Sample> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wallMs: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: (used.user + used.system) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function bench(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "refsync-bench-render-"));
  try {
    await generate(dir);
    const rendered = await renderTree(dir);
    const externalSecrets = rendered.split("\nkind: ExternalSecret\n").length - 1;
    if (externalSecrets !== 1000)
      throw new Error(`expected 1000 ExternalSecrets, rendered ${externalSecrets}`);
    // Warm up both, then alternate so drift on a shared machine hits both alike.
    await baseline(dir);
    const base: Sample[] = [];
    const ours: Sample[] = [];
    for (let run = 0; run < 7; run++) {
      base.push(await time(() => baseline(dir)));
      ours.push(await time(() => renderTree(dir)));
    }
    const cpu = (xs: Sample[]) => median(xs.map((x) => x.cpuMs));
    const wall = (xs: Sample[]) => median(xs.map((x) => x.wallMs));
    return {
      title: "render (deferred mode, 2,000 documents, 1,000 references)",
      lines: [
        `| measure (median of 7) | CPU | wall |`,
        `|---|---|---|`,
        `| yaml parse + stringify (baseline) | ${cpu(base).toFixed(0)} ms | ${wall(base).toFixed(0)} ms |`,
        `| refsync render | ${cpu(ours).toFixed(0)} ms | ${wall(ours).toFixed(0)} ms |`,
        `| ratio (target ≤ 1.5) | **${(cpu(ours) / cpu(base)).toFixed(2)}×** | ${(wall(ours) / wall(base)).toFixed(2)}× |`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await bench();
  console.log(`## ${result.title}\n\n${result.lines.join("\n")}`);
}
