/**
 * `refsync scan`: credentials in the working tree and in every commit
 * reachable from the given refs. History is read incrementally: each commit
 * contributes only the blobs it introduced, and a blob's findings are
 * computed once per blob id however many commits and paths carry it.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { AllowList } from "./allowlist.ts";
import { detect, fileKind, type Detection, type FileKind } from "./detect.ts";
import { hasHistory, systemGitAvailable, type BlobContent, type HistorySource } from "./history.ts";
import { gitCliHistory } from "./history-cli.ts";
import { isomorphicHistory } from "./history-isomorphic.ts";
import { silentProgress, type Progress } from "./progress.ts";
import { listWorktreeFiles } from "./worktree.ts";

export interface Finding extends Detection {
  /** Repository-relative path. */
  file: string;
  /** For history findings: the commit that introduced this content at this path. */
  commit?: string;
  /** For history findings: that commit's date (ISO 8601). */
  date?: string;
}

export interface SkippedFile {
  file: string;
  commit?: string;
  reason: "too-large";
  size: number;
}

export interface ScanReport {
  /** Working-tree findings first (by file), then history findings (oldest commit first). */
  findings: Finding[];
  /** Findings suppressed by the allow-list. */
  allowed: number;
  /** Files not read because of their size. */
  skipped: SkippedFile[];
  stats: { files: number; commits: number; blobs: number; binary: number; engine?: HistorySource["name"] };
}

export interface ScanOptions {
  dir: string;
  worktree?: boolean;
  history?: boolean;
  /** Branches, tags or commits to start from; default every local branch and tag, and HEAD. */
  refs?: string[];
  /** Only commits committed at or after this time. */
  since?: Date;
  allow?: AllowList;
  /** Larger files are skipped (and listed). Default 2 MiB. */
  maxFileSize?: number;
  progress?: Progress;
  /** How history is read: the system git when installed (default), or isomorphic-git. */
  engine?: "auto" | HistorySource["name"];
}

export const DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024;

type Content = { detections: Detection[] } | { binary: true } | { tooLarge: number };

/** Git's own heuristic: a NUL byte in the first 8000 bytes means binary. */
function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8000).includes(0);
}

function inspect(content: BlobContent, kind: FileKind): Content {
  if (!(content instanceof Uint8Array)) return { tooLarge: content.size };
  if (isBinary(content)) return { binary: true };
  return {
    detections: detect(
      Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString("utf8"),
      kind,
    ),
  };
}

/** Whether to ask the system git (history walk, file listing) rather than isomorphic-git. */
async function useSystemGit(engine: ScanOptions["engine"]): Promise<boolean> {
  return engine === "git" || (engine !== "isomorphic-git" && (await systemGitAvailable()));
}

export async function scan(options: ScanOptions): Promise<ScanReport> {
  const allow = options.allow ?? new AllowList();
  const maxSize = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  const progress = options.progress ?? silentProgress;
  const report: ScanReport = {
    findings: [],
    allowed: 0,
    skipped: [],
    stats: { files: 0, commits: 0, blobs: 0, binary: 0 },
  };
  const record = (content: Content, where: Omit<Finding, keyof Detection>): void => {
    if ("binary" in content) report.stats.binary++;
    else if ("tooLarge" in content)
      report.skipped.push({ ...where, reason: "too-large", size: content.tooLarge });
    else
      for (const d of content.detections) {
        const finding: Finding = { ...where, ...d };
        if (allow.allows(finding)) report.allowed++;
        else report.findings.push(finding);
      }
  };
  const isRepo = await hasHistory(options.dir);

  if (options.worktree !== false) {
    const files = await listWorktreeFiles(options.dir, isRepo, await useSystemGit(options.engine));
    for (const [i, file] of files.entries()) {
      progress.update("scanning files", i + 1, files.length);
      const path = join(options.dir, file);
      const size = (await stat(path)).size;
      // Huge files are never read into memory.
      record(inspect(size > maxSize ? { size } : await readFile(path), fileKind(file)), { file });
    }
    report.stats.files = files.length;
  }

  if (options.history !== false && isRepo) {
    const source = (await useSystemGit(options.engine))
      ? gitCliHistory(options.dir)
      : isomorphicHistory(options.dir);
    const { commits, blobs } = await source.introduced({
      ...(options.refs ? { refs: options.refs } : {}),
      ...(options.since ? { since: options.since } : {}),
      onProgress: (done, total) => progress.update("walking commits", done, total),
    });
    // The same content at the same path is reported once, at the oldest commit that introduced it.
    const seen = new Set<string>();
    const firstIntroductions = blobs.filter((b) => {
      const key = `${b.path}\0${b.oid}`;
      return !seen.has(key) && seen.add(key) !== undefined;
    });
    // A blob is read once, and inspected once per way of reading it (YAML, config, text).
    const kinds = new Map<string, Set<FileKind>>();
    for (const b of firstIntroductions) {
      const set = kinds.get(b.oid) ?? new Set();
      kinds.set(b.oid, set.add(fileKind(b.path)));
    }
    const contents = new Map<string, Content>();
    let read = 0;
    await source.readBlobs([...kinds.keys()], maxSize, (oid, content) => {
      progress.update("reading blobs", ++read, kinds.size);
      for (const kind of kinds.get(oid) ?? []) contents.set(`${oid}:${kind}`, inspect(content, kind));
    });
    for (const b of firstIntroductions) {
      const content = contents.get(`${b.oid}:${fileKind(b.path)}`);
      if (!content) throw new Error(`history: blob ${b.oid} (${b.path}) could not be read`);
      record(content, { file: b.path, commit: b.commit, date: new Date(b.time * 1000).toISOString() });
    }
    Object.assign(report.stats, { commits, blobs: kinds.size, engine: source.name });
  }
  progress.finish();
  return report;
}
