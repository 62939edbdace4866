/**
 * Lists the files of a working tree the way Git sees them: `.git` and
 * ignored paths excluded (when the directory is a repository).
 */
import fs from "node:fs";
import { readdir } from "node:fs/promises";
import git from "isomorphic-git";

/** Repository-relative, `/`-separated paths of the regular files under `dir`. */
export async function listWorktreeFiles(dir: string, isRepo: boolean): Promise<string[]> {
  const files: string[] = [];
  const ignored = async (path: string): Promise<boolean> =>
    isRepo && (await git.isIgnored({ fs, dir, filepath: path }));
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(rel ? `${dir}/${rel}` : dir, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === ".git") continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (!(entry.isDirectory() || entry.isFile()) || (await ignored(path))) continue;
      if (entry.isDirectory()) await visit(path);
      else files.push(path);
    }
  };
  await visit("");
  return files;
}
