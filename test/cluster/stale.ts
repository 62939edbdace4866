// Clusters whose owner died without cleaning up (SIGKILL, OOM, a power cut of the session) leave
// etcd and kube-apiserver running. Each cluster directory records its owner's PID; the next cluster
// started on the machine kills the servers of directories whose owner is gone and removes them.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CLUSTER_DIR_PREFIX = "refsync-cluster-";
const OWNER_FILE = "owner.pid";

export function recordOwner(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
}

/** Kills the servers of abandoned cluster directories under `root`; returns the directories removed. */
export function reapStaleClusters(root: string): string[] {
  const reaped: string[] = [];
  for (const entry of safeReaddir(root)) {
    if (!entry.startsWith(CLUSTER_DIR_PREFIX)) continue;
    const dir = join(root, entry);
    const owner = ownerOf(dir);
    const users = processesUsing(dir);
    // Without an owner file (being created, or from an older harness) only an unused, old directory goes.
    const abandoned = owner === undefined ? users.length === 0 && ageMs(dir) > 10 * 60_000 : !alive(owner);
    if (!abandoned) continue;
    for (const pid of users) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}

function ownerOf(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, OWNER_FILE), "utf8")) || undefined;
  } catch {
    return undefined;
  }
}

function ageMs(dir: string): number {
  try {
    return Date.now() - statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** PIDs whose command line names a path inside `dir` (our servers all do). */
function processesUsing(dir: string): number[] {
  return safeReaddir("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, "latin1").includes(`${dir}/`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
