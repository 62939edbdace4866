/**
 * History through isomorphic-git, for machines without a git binary. Each
 * commit's tree is compared with its parents' by tree id, recursing only
 * into subtrees that changed, so the cost follows what changed rather than
 * the size of each snapshot.
 */
import fs, { existsSync, readdirSync, statSync } from "node:fs";
import git from "isomorphic-git";
import { join } from "node:path";
import type { BlobContent, HistoryQuery, HistorySource, IntroducedBlob } from "./history.ts";
import { sinceSeconds } from "./history.ts";

interface Repo {
  dir: string;
  /** isomorphic-git's object cache: keeps packfiles parsed across calls. */
  cache: object;
  fs: typeof fs;
}

const MISSING = Object.assign(new Error("no such loose object"), { code: "ENOENT" });

/**
 * A read-only view of the file system for one history walk. isomorphic-git
 * looks for every object as a loose file before its packfiles, and lists the
 * pack directory on every read; in a packed repository that is a failed open
 * and a directory listing per object. Objects do not change during a scan,
 * so the loose ones are listed once and the listings are remembered.
 */
function objectReadingFs(gitdir: string): typeof fs {
  if (!existsSync(join(gitdir, "objects")) || !statSync(gitdir).isDirectory()) return fs;
  const loose = new Set<string>();
  for (const prefix of readdirSync(join(gitdir, "objects"))) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    for (const rest of readdirSync(join(gitdir, "objects", prefix))) loose.add(`${prefix}/${rest}`);
  }
  const objectsDir = join(gitdir, "objects") + "/";
  const listings = new Map<string, Promise<string[]>>();
  const promises = {
    ...fs.promises,
    readFile: ((path: string, options?: unknown) => {
      const m =
        typeof path === "string" && path.startsWith(objectsDir)
          ? /^([0-9a-f]{2}\/[0-9a-f]{38})$/.exec(path.slice(objectsDir.length))
          : null;
      if (m && !loose.has(m[1]!)) return Promise.reject(MISSING);
      return fs.promises.readFile(path, options as undefined);
    }) as typeof fs.promises.readFile,
    readdir: ((path: string) => {
      if (typeof path !== "string" || !path.startsWith(objectsDir)) return fs.promises.readdir(path);
      let listing = listings.get(path);
      if (!listing) listings.set(path, (listing = fs.promises.readdir(path)));
      return listing;
    }) as typeof fs.promises.readdir,
  };
  return { ...fs, promises } as typeof fs;
}

interface CommitInfo {
  oid: string;
  parents: string[];
  tree: string;
  time: number;
}

interface Entry {
  path: string;
  mode: string;
  oid: string;
  type: "blob" | "tree" | "commit";
}

export function isomorphicHistory(dir: string): HistorySource {
  const repo: Repo = { dir, cache: {}, fs: objectReadingFs(join(dir, ".git")) };
  return {
    name: "isomorphic-git",

    async introduced(query: HistoryQuery) {
      const tips = await resolveCommits(repo, query.refs ?? (await defaultRefs(repo)));
      const all = await listCommits(repo, tips);
      const minTime = sinceSeconds(query.since);
      const commits = [...all.values()].filter((c) => c.time >= minTime).sort((a, b) => a.time - b.time);
      const trees = new TreeReader(repo);
      const blobs: IntroducedBlob[] = [];
      for (const [i, commit] of commits.entries()) {
        query.onProgress?.(i + 1, commits.length);
        blobs.push(...(await introducedBlobs(trees, commit, all)));
      }
      return { commits: commits.length, blobs };
    },

    async readBlobs(oids, maxSize, onBlob: (oid: string, content: BlobContent) => void) {
      for (const oid of oids) {
        const { blob } = await git.readBlob({ fs: repo.fs, dir: repo.dir, oid, cache: repo.cache });
        onBlob(oid, blob.length > maxSize ? { size: blob.length } : blob);
      }
    },
  };
}

/** Resolves branch names, tags, `HEAD` or (abbreviated) commit ids to commit ids. */
async function resolveCommits(repo: Repo, refs: string[]): Promise<string[]> {
  const oids: string[] = [];
  for (const ref of refs) {
    let oid: string;
    try {
      oid = await git.resolveRef({ fs: repo.fs, dir: repo.dir, ref });
    } catch {
      try {
        oid = await git.expandOid({ fs: repo.fs, dir: repo.dir, oid: ref, cache: repo.cache });
      } catch {
        throw new Error(`unknown ref or commit: ${ref}`);
      }
    }
    // Peels annotated tags to their commit.
    oids.push((await git.readCommit({ fs: repo.fs, dir: repo.dir, oid, cache: repo.cache })).oid);
  }
  return oids;
}

/** HEAD and every local branch and tag. */
async function defaultRefs(repo: Repo): Promise<string[]> {
  const [branches, tags] = await Promise.all([
    git.listBranches({ fs: repo.fs, dir: repo.dir }),
    git.listTags({ fs: repo.fs, dir: repo.dir }),
  ]);
  return ["HEAD", ...branches.map((b) => `refs/heads/${b}`), ...tags.map((t) => `refs/tags/${t}`)];
}

/** Every commit reachable from `tips`, by id. */
async function listCommits(repo: Repo, tips: string[]): Promise<Map<string, CommitInfo>> {
  const commits = new Map<string, CommitInfo>();
  const stack = [...tips];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (commits.has(oid)) continue;
    const { commit } = await git.readCommit({ fs: repo.fs, dir: repo.dir, oid, cache: repo.cache });
    commits.set(oid, { oid, parents: commit.parent, tree: commit.tree, time: commit.committer.timestamp });
    stack.push(...commit.parent);
  }
  return commits;
}

/** Reads trees once: consecutive commits share most of their subtrees. */
class TreeReader {
  readonly #repo: Repo;
  readonly #trees = new Map<string, Entry[]>();
  constructor(repo: Repo) {
    this.#repo = repo;
  }

  async read(oid: string): Promise<Entry[]> {
    let entries = this.#trees.get(oid);
    if (!entries) {
      const { tree } = await git.readTree({
        fs: this.#repo.fs,
        dir: this.#repo.dir,
        oid,
        cache: this.#repo.cache,
      });
      entries = tree;
      // Bounded: a long history walk must not hold every tree it ever saw.
      if (this.#trees.size > 20_000) this.#trees.clear();
      this.#trees.set(oid, entries);
    }
    return entries;
  }

  /** The blob id at `path` in a tree, if any. */
  async blobAt(treeOid: string, path: string): Promise<string | undefined> {
    let oid = treeOid;
    const parts = path.split("/");
    for (const [i, name] of parts.entries()) {
      const entry = (await this.read(oid)).find((e) => e.path === name);
      if (!entry) return undefined;
      if (i === parts.length - 1) return entry.type === "blob" ? entry.oid : undefined;
      if (entry.type !== "tree") return undefined;
      oid = entry.oid;
    }
    return undefined;
  }

  /** Blobs in `newTree` that are absent or different in `oldTree`. */
  async changedBlobs(
    oldTree: string | undefined,
    newTree: string,
    prefix = "",
  ): Promise<{ path: string; oid: string }[]> {
    if (oldTree === newTree) return [];
    const before = new Map((oldTree ? await this.read(oldTree) : []).map((e) => [e.path, e]));
    const changed: { path: string; oid: string }[] = [];
    for (const entry of await this.read(newTree)) {
      const old = before.get(entry.path);
      if (old?.oid === entry.oid && old.mode === entry.mode) continue;
      const path = prefix + entry.path;
      if (entry.type === "tree") {
        changed.push(
          ...(await this.changedBlobs(old?.type === "tree" ? old.oid : undefined, entry.oid, `${path}/`)),
        );
      } else if (entry.type === "blob" && entry.mode !== "120000") {
        // Symlinks (120000) hold a path, not content; submodules ("commit") are another repository.
        changed.push({ path, oid: entry.oid });
      }
    }
    return changed;
  }
}

/** The blobs `commit` introduced: changed against its first parent and absent from the others (merges). */
async function introducedBlobs(
  trees: TreeReader,
  commit: CommitInfo,
  commits: Map<string, CommitInfo>,
): Promise<IntroducedBlob[]> {
  const treeOf = (oid: string): string => commits.get(oid)!.tree;
  const [first, ...others] = commit.parents;
  const candidates = await trees.changedBlobs(first ? treeOf(first) : undefined, commit.tree);
  const introduced: IntroducedBlob[] = [];
  for (const c of candidates) {
    let inOther = false;
    for (const parent of others) inOther ||= (await trees.blobAt(treeOf(parent), c.path)) === c.oid;
    if (!inOther) introduced.push({ commit: commit.oid, time: commit.time, ...c });
  }
  return introduced;
}
