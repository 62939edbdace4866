/**
 * `refsync controller` as a child process that a fault test can SIGKILL,
 * with its JSON log kept for assertions (who wrote what, when).
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { Cluster } from "../cluster/index.ts";
import { waitFor } from "../controller/harness.ts";
import { spawnRefsync } from "../cli-process.ts";

export interface LogLine {
  time: number;
  msg: string;
  externalSecret?: string;
  written?: boolean;
  [field: string]: unknown;
}

export interface ControllerProcess {
  child: ChildProcess;
  lines(): LogLine[];
  /** Resolves with the time of the first log line with this message. */
  waitForLog(msg: string, timeoutMs?: number): Promise<number>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export function startControllerProcess(
  cluster: Pick<Cluster, "kubeconfigPath">,
  namespace: string,
  extraArgs: string[] = [],
): ControllerProcess {
  const child = spawnRefsync(
    [
      "controller",
      "--kubeconfig",
      cluster.kubeconfigPath,
      "--namespace",
      namespace,
      "--metrics-addr",
      "0",
      "--dashboard-addr",
      "0",
      "--log-level",
      "debug",
      "--hash-key-secret",
      `${namespace}/refsync-hash-key`,
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
    if (process.env.REFSYNC_TEST_LOG) process.stderr.write(c);
  });
  const lines = (): LogLine[] =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => {
        const line = JSON.parse(l) as Record<string, unknown>;
        return { ...line, msg: String(line.msg), time: Date.parse(String(line.time)) } as LogLine;
      });
  const exited = once(child, "exit");
  return {
    child,
    lines,
    waitForLog: (msg, timeoutMs = 30_000) =>
      waitFor(() => lines().find((l) => l.msg === msg)?.time, `controller log "${msg}"`, timeoutMs),
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** ExternalSecret keys that a process wrote the Secret of, with the time of each write. */
export function writes(proc: ControllerProcess): { key: string; time: number }[] {
  return proc
    .lines()
    .filter((l) => l.msg === "synced" && l.written === true && l.externalSecret)
    .map((l) => ({ key: l.externalSecret as string, time: l.time }));
}
