/**
 * History through the system `git`: one `git log --raw -c` lists what every
 * commit introduced (for merges, `-c` keeps only paths that differ from all
 * parents), and one `git cat-file --batch` streams the blobs.
 */
import { spawn } from "node:child_process";
import type { BlobContent, HistoryQuery, HistorySource, IntroducedBlob } from "./history.ts";
import { sinceSeconds } from "./history.ts";

const NO_BLOB_MODES = new Set(["000000", "120000", "160000"]); // deleted, symlink, submodule

function run(dir: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`git ${args[0]}: ${Buffer.concat(err).toString().trim() || `exit ${code}`}`));
    });
  });
}

export function gitCliHistory(dir: string): HistorySource {
  return {
    name: "git",

    async introduced(query: HistoryQuery) {
      const tips = query.refs ?? ["HEAD", "--branches", "--tags"];
      // Refs that look like options are refused rather than passed to git.
      const bad = query.refs?.find((r) => r.startsWith("-"));
      if (bad) throw new Error(`not a ref: ${bad}`);
      const out = await run(dir, [
        "log",
        "-z",
        "--raw",
        "-c",
        "--root",
        "--no-abbrev",
        "--no-renames",
        "--reverse",
        "--date-order",
        "--format=%x01%H %ct",
        ...tips,
        "--",
      ]);
      const minTime = sinceSeconds(query.since);
      const tokens = out.toString("utf8").split("\0");
      const blobs: IntroducedBlob[] = [];
      let commits = 0;
      let commit = "";
      let time = 0;
      for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i]!.replace(/^\n/, "");
        if (token.startsWith("\x01")) {
          const [oid = "", seconds = "0"] = token.slice(1).split(" ");
          commit = oid;
          time = Number(seconds);
          if (time >= minTime) commits++;
        } else if (token.startsWith(":")) {
          const path = tokens[++i] ?? "";
          if (time < minTime) continue;
          // `:mode… oid… status`: one mode and one oid per parent, then the result's.
          const fields = token.replace(/^:+/, "").split(" ");
          const parents = token.length - token.replace(/^:+/, "").length;
          const mode = fields[parents] ?? "";
          const oid = fields[2 * parents + 1] ?? "";
          if (!NO_BLOB_MODES.has(mode)) blobs.push({ commit, time, path, oid });
        }
      }
      return { commits, blobs };
    },

    async readBlobs(oids, maxSize, onBlob) {
      if (oids.length > 0) await catFileBatch(dir, oids, maxSize, onBlob);
    },
  };
}

/**
 * Streams `git cat-file --batch`: `<oid> <type> <size>\n<content>\n` per
 * object. Oversized contents are skipped as they stream, never buffered.
 */
function catFileBatch(
  dir: string,
  oids: string[],
  maxSize: number,
  onBlob: (oid: string, content: BlobContent) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["cat-file", "--batch"], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
    let pending: Buffer = Buffer.alloc(0);
    let current: { oid: string; size: number; parts: Buffer[]; got: number } | undefined;
    let failure: Error | undefined;
    const stderr: Buffer[] = [];
    child.stderr.on("data", (b: Buffer) => stderr.push(b));
    child.stdout.on("data", (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (!current) {
          const nl = pending.indexOf(10);
          if (nl < 0) return;
          const [oid = "", type = "", size = ""] = pending.subarray(0, nl).toString().split(" ");
          pending = pending.subarray(nl + 1);
          if (type === "missing") {
            failure ??= new Error(`git cat-file: object ${oid} is missing`);
            continue;
          }
          current = { oid, size: Number(size), parts: [], got: 0 };
        }
        // Content plus the trailing newline.
        const need = current.size + 1 - current.got;
        const take = Math.min(need, pending.length);
        if (current.size <= maxSize) current.parts.push(pending.subarray(0, take));
        current.got += take;
        pending = pending.subarray(take);
        if (current.got < current.size + 1) return;
        const content =
          current.size <= maxSize ? Buffer.concat(current.parts).subarray(0, current.size) : current;
        onBlob(current.oid, content instanceof Buffer ? content : { size: current.size });
        current = undefined;
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (failure) reject(failure);
      else if (code !== 0) reject(new Error(`git cat-file: ${Buffer.concat(stderr).toString().trim()}`));
      else resolve();
    });
    child.stdin.on("error", reject);
    child.stdin.end(oids.join("\n") + "\n");
  });
}
