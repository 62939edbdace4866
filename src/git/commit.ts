/**
 * Commits file changes onto a new branch with isomorphic-git, without
 * touching the index or the working tree: blobs and trees are written as
 * objects, and the branch ref is created last, so a failure before that
 * leaves the repository as it was (a few unreferenced objects aside).
 */
import fs from "node:fs";
import git from "isomorphic-git";

export interface FileChange {
  /** Repository-relative, `/`-separated. */
  path: string;
  content: string;
}

/** Uncommitted changes to tracked files (staged or not); untracked files do not count. */
export async function dirtyFiles(dir: string): Promise<string[]> {
  const matrix = await git.statusMatrix({ fs, dir });
  // [path, HEAD, WORKDIR, STAGE]: 1,1,1 is unchanged; 0,2,0 is untracked.
  return matrix
    .filter(
      ([, head, workdir, stage]) =>
        !(head === 1 && workdir === 1 && stage === 1) && !(head === 0 && workdir === 2 && stage === 0),
    )
    .map(([path]) => path);
}

export async function branchExists(dir: string, branch: string): Promise<boolean> {
  try {
    await git.resolveRef({ fs, dir, ref: `refs/heads/${branch}` });
    return true;
  } catch {
    return false;
  }
}

/** Writes `tree` with the blob at `parts` replaced, returning the new tree id. */
async function replaceInTree(
  dir: string,
  treeOid: string,
  parts: string[],
  blobOid: string,
): Promise<string> {
  const { tree } = await git.readTree({ fs, dir, oid: treeOid });
  const [name, ...rest] = parts as [string, ...string[]];
  const entries = tree.filter((e) => e.path !== name);
  const existing = tree.find((e) => e.path === name);
  if (rest.length === 0) {
    entries.push({ mode: existing?.mode ?? "100644", path: name, oid: blobOid, type: "blob" });
  } else {
    if (!existing || existing.type !== "tree")
      throw new Error(`${parts.join("/")}: not in the commit's tree`);
    entries.push({ ...existing, oid: await replaceInTree(dir, existing.oid, rest, blobOid) });
  }
  return git.writeTree({ fs, dir, tree: entries });
}

async function signature(
  dir: string,
): Promise<{ name: string; email: string; timestamp: number; timezoneOffset: number }> {
  const name = ((await git.getConfig({ fs, dir, path: "user.name" })) as string | undefined) ?? "refsync";
  const email =
    ((await git.getConfig({ fs, dir, path: "user.email" })) as string | undefined) ?? "refsync@localhost";
  return {
    name,
    email,
    timestamp: Math.floor(Date.now() / 1000),
    timezoneOffset: new Date().getTimezoneOffset(),
  };
}

/** Creates `branch` at a new commit on top of HEAD holding `changes`; returns the commit id. */
export async function commitToNewBranch(
  dir: string,
  branch: string,
  changes: FileChange[],
  message: string,
): Promise<string> {
  const head = await git.resolveRef({ fs, dir, ref: "HEAD" });
  const { commit: parent } = await git.readCommit({ fs, dir, oid: head });
  let tree = parent.tree;
  for (const change of changes) {
    const blob = await git.writeBlob({ fs, dir, blob: Buffer.from(change.content, "utf8") });
    tree = await replaceInTree(dir, tree, change.path.split("/"), blob);
  }
  const author = await signature(dir);
  const oid = await git.writeCommit({
    fs,
    dir,
    commit: { message, tree, parent: [head], author, committer: author },
  });
  await git.writeRef({ fs, dir, ref: `refs/heads/${branch}`, value: oid });
  return oid;
}

export async function checkoutBranch(dir: string, branch: string): Promise<void> {
  await git.checkout({ fs, dir, ref: branch });
}

/** Tracked files at HEAD. */
export function trackedFiles(dir: string): Promise<string[]> {
  return git.listFiles({ fs, dir, ref: "HEAD" });
}
