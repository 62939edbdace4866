/**
 * Generates a synthetic manifest repository with a long history, for
 * bench/scan.ts: a few hundred YAML files in app folders, every commit
 * editing one to three of them, with a plaintext Secret every so often.
 * Built with `git fast-import`, so 5,000 commits take about a second.
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

export interface GeneratedHistory {
  dir: string;
  commits: number;
  secrets: number;
}

function deployment(app: string, i: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}
spec:
  replicas: ${1 + (i % 5)}
  template:
    spec:
      containers:
        - name: ${app}
          image: registry.example/${app}:1.${i}
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: { name: ${app}-db, key: password }
`;
}

function values(app: string, i: number): string {
  return `# Helm values for ${app}
image:
  tag: "1.${i}"
resources:
  limits: { cpu: ${100 + i}m, memory: 256Mi }
postgresql:
  auth:
    existingSecret: ${app}-db
`;
}

function secret(app: string, i: number): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${app}-db
stringData:
  password: generated-${i}-${app}
`;
}

/** Deterministic pseudo-random numbers, so every run measures the same history. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

export async function generateHistory(dir: string, commits: number, apps = 100): Promise<GeneratedHistory> {
  mkdirSync(dir, { recursive: true });
  execFileSync("git", ["init", "-q", "-b", "main", dir]);
  const child = spawn("git", ["fast-import", "--quiet"], { cwd: dir, stdio: ["pipe", "inherit", "inherit"] });
  const done = new Promise<void>((ok, fail) =>
    child.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`git fast-import exited ${code}`)))),
  );
  const random = lcg(42);
  const chunks: string[] = [];
  const data = (s: string): string => `data ${Buffer.byteLength(s)}\n${s}\n`;
  let secrets = 0;
  for (let c = 1; c <= commits; c++) {
    const files: string[] = [];
    if (c === 1) {
      for (let a = 0; a < apps; a++) {
        files.push(`M 100644 inline apps/app${a}/deployment.yaml\n${data(deployment(`app${a}`, 0))}`);
        files.push(`M 100644 inline apps/app${a}/values.yaml\n${data(values(`app${a}`, 0))}`);
      }
    } else {
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const app = `app${Math.floor(random() * apps)}`;
        const which = random();
        if (which < 0.02) {
          secrets++;
          files.push(`M 100644 inline apps/${app}/secret.yaml\n${data(secret(app, c))}`);
        } else if (which < 0.5) {
          files.push(`M 100644 inline apps/${app}/deployment.yaml\n${data(deployment(app, c))}`);
        } else {
          files.push(`M 100644 inline apps/${app}/values.yaml\n${data(values(app, c))}`);
        }
      }
    }
    const when = 1_600_000_000 + c * 60;
    chunks.push(
      `commit refs/heads/main\nmark :${c}\ncommitter Bench <bench@example.com> ${when} +0000\n` +
        data(`change ${c}`) +
        (c > 1 ? `from :${c - 1}\n` : "") +
        files.join(""),
    );
    if (chunks.length >= 500) child.stdin.write(chunks.splice(0).join(""));
  }
  child.stdin.end(chunks.join(""));
  await done;
  execFileSync("git", ["checkout", "-q", "main"], { cwd: dir });
  return { dir, commits, secrets };
}
