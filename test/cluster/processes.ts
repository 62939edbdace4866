// Server processes of the test harness: each one runs in its own process group,
// logs to a file, and carries a run marker in its environment so that the runner
// can find whatever a test run left behind (see findMarkedProcesses).
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync, readdirSync } from "node:fs";
import { once } from "node:events";

/** Environment variable naming the test run; every harness process inherits it. */
export const RUN_ID_ENV = "REFSYNC_TEST_RUN_ID";

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<void>;
  hasExited(): boolean;
}

const live = new Set<ServerProcess>();

/** Starts `command` detached in a new process group, stdout and stderr to `logPath`. */
export function startServer(
  name: string,
  command: string,
  args: string[],
  logPath: string,
  runId: string,
): ServerProcess {
  const log = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, [RUN_ID_ENV]: runId },
    });
  } finally {
    closeSync(log);
  }
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  // A test file must be able to exit even if it forgets stop(): the exit hook below kills the group.
  child.unref();
  let exited = false;
  const server: ServerProcess = {
    name,
    pid: child.pid,
    logPath,
    child,
    exited: once(child, "exit").then(
      () => undefined,
      () => undefined,
    ),
    hasExited: () => exited,
  };
  child.on("exit", () => {
    exited = true;
    live.delete(server);
  });
  child.on("error", () => undefined);
  live.add(server);
  installExitHooks();
  return server;
}

/** Sends `signal` to the whole process group; ignores groups that are already gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopServer(server: ServerProcess, graceMs = 5000): Promise<void> {
  if (!server.hasExited()) {
    signalGroup(server.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(server.pid, "SIGKILL"), graceMs);
    await server.exited;
    clearTimeout(timer);
  }
  // Anything the server forked lives in its group; make sure none of it survives.
  signalGroup(server.pid, "SIGKILL");
}

/** Last `lines` lines of a server's log, for error messages. */
export function logTail(server: ServerProcess, lines = 30): string {
  try {
    return readFileSync(server.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

let hooksInstalled = false;

// Kill synchronously on the way out, whatever the reason: normal exit, uncaught error,
// SIGINT or SIGTERM. A signal is re-raised with its default action unless another
// listener (node:test installs its own) takes care of exiting.
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = (): void => {
    for (const server of live) signalGroup(server.pid, "SIGKILL");
    live.clear();
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAll();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** PIDs of processes whose environment carries `RUN_ID_ENV=runId` (Linux /proc). */
export function findMarkedProcesses(runId: string, exclude: number[] = [process.pid]): number[] {
  const marker = `${RUN_ID_ENV}=${runId}`;
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (exclude.includes(pid)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "latin1");
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    if (environ.split("\0").includes(marker) && isRunning(pid)) found.push(pid);
  }
  return found;
}

/** True while `pid` exists and is not a zombie (an exited process its parent has yet to reap). */
export function isRunning(pid: number): boolean {
  try {
    // The state field follows the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** One line per PID: "pid command line", for reports. */
export function describeProcesses(pids: number[]): string {
  return pids
    .map((pid) => {
      try {
        return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim()}`;
      } catch {
        return `${pid} (gone)`;
      }
    })
    .join("\n");
}
