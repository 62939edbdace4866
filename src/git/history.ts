/**
 * Reading a repository's history for the scanner: which blobs each commit
 * introduced, and their contents. Two implementations with one contract:
 * the system `git` (fast; used when installed) and isomorphic-git (pure JS,
 * so the scanner also runs where no git binary exists, as in the plugin image).
 */
import fs from "node:fs";
import git from "isomorphic-git";
import { simpleGit } from "simple-git";

/** A path whose content at `commit` differs from that of every parent. */
export interface IntroducedBlob {
  commit: string;
  /** Committer time, seconds since the epoch. */
  time: number;
  path: string;
  oid: string;
}

export interface HistoryQuery {
  /** Branches, tags or commit ids to start from; default HEAD and every local branch and tag. */
  refs?: string[];
  /** Only commits committed at or after this time. */
  since?: Date;
  onProgress?: (done: number, total: number) => void;
}

/** A blob's bytes, or only its size when it is larger than the limit asked for. */
export type BlobContent = Uint8Array | { size: number };

export interface HistorySource {
  readonly name: "git" | "isomorphic-git";
  /** Blobs introduced by the commits in range, oldest commit first, and how many commits that was. */
  introduced(query: HistoryQuery): Promise<{ commits: number; blobs: IntroducedBlob[] }>;
  /** Calls `onBlob` once per id, in any order. */
  readBlobs(
    oids: string[],
    maxSize: number,
    onBlob: (oid: string, content: BlobContent) => void,
  ): Promise<void>;
}

/** True when `dir` is a Git work tree with at least one commit. */
export async function hasHistory(dir: string): Promise<boolean> {
  try {
    await git.resolveRef({ fs, dir, ref: "HEAD" });
    return true;
  } catch {
    return false;
  }
}

/** The work tree's top directory when `dir` is inside one; otherwise `dir`. */
export async function workTreeRoot(dir: string): Promise<string> {
  try {
    return await git.findRoot({ fs, filepath: dir });
  } catch {
    return dir;
  }
}

/** True when a `git` binary is on the PATH. */
export async function systemGitAvailable(): Promise<boolean> {
  try {
    return (await simpleGit().version()).installed;
  } catch {
    return false;
  }
}

export function sinceSeconds(since: Date | undefined): number {
  return since ? since.getTime() / 1000 : -Infinity;
}
