/**
 * Lists the files of a working tree the way Git sees them: tracked and
 * untracked, `.git` and ignored paths excluded. The system git answers in one
 * call; without it, isomorphic-git checks each path against the ignore rules.
 */
import fs from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import git from "isomorphic-git";
import { simpleGit } from "simple-git";

/** Repository-relative, `/`-separated paths of the regular files under `dir`, sorted. */
export async function listWorktreeFiles(
  dir: string,
  isRepo: boolean,
  useSystemGit: boolean,
): Promise<string[]> {
  if (isRepo && useSystemGit) return listWithGit(dir);
  const files: string[] = [];
  const ignored = async (path: string): Promise<boolean> =>
    isRepo && (await git.isIgnored({ fs, dir, filepath: path }));
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(rel ? `${dir}/${rel}` : dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name === ".git") continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (!(entry.isDirectory() || entry.isFile()) || (await ignored(path))) continue;
      if (entry.isDirectory()) await visit(path);
      else files.push(path);
    }
  };
  await visit("");
  return files.sort();
}

async function listWithGit(dir: string): Promise<string[]> {
  const out = await simpleGit(dir).raw(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  const files: string[] = [];
  for (const path of new Set(out.split("\0").filter((p) => p !== ""))) {
    // Deleted but still in the index, symlinks, submodules: not files to read.
    const info = await stat(join(dir, path)).catch(() => undefined);
    if (info?.isFile() && !(await fs.promises.lstat(join(dir, path))).isSymbolicLink()) files.push(path);
  }
  return files.sort();
}
