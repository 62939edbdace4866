/**
 * Where audit lines go: `stdout`, `stderr` or `file:PATH` (a bare path is a
 * file too), a file rotated by size with a number of rotated files kept
 * (`PATH.1` newest … `PATH.N` oldest). Lines are appended synchronously, so
 * their order is the order of calls. A line that cannot be written (full
 * disk, unwritable file) stays queued, in order, and is retried on the next
 * write or `recover()`; the sink is then `failing` until the queue drains,
 * and reports each failure once per episode through `onFailure`. A queue
 * grown past its bound drops its oldest line, which the hash chain then shows
 * as a removed record.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
  type PathLike,
} from "node:fs";

export type AuditTarget = { kind: "stdout" } | { kind: "stderr" } | { kind: "file"; path: string };

/** `stdout`, `stderr`, `file:PATH`, or a bare PATH; `dash` says what `-` means (the plugin's stdout is Argo CD's). */
export function parseAuditTarget(value: string, dash: "stdout" | "stderr"): AuditTarget {
  if (value === "-") return { kind: dash };
  if (value === "stdout" || value === "stderr") return { kind: value };
  const path = value.startsWith("file:") ? value.slice("file:".length) : value;
  if (!path) throw new Error(`want stdout, stderr or file:PATH, not "${value}"`);
  return { kind: "file", path };
}

const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  ki: 1024,
  m: 1e6,
  mi: 1024 ** 2,
  g: 1e9,
  gi: 1024 ** 3,
};

/** A size like `100Mi`, `50M`, `4096`: bytes. */
export function parseSize(value: string): number {
  const m = /^(\d+)(|k|ki|m|mi|g|gi)b?$/i.exec(value.trim());
  const unit = UNITS[(m?.[2] ?? "").toLowerCase()];
  if (!m || unit === undefined || Number(m[1]) <= 0)
    throw new Error(`"${value}" is not a size (like 100Mi, 50M or 4096)`);
  return Number(m[1]) * unit;
}

export interface SinkOptions {
  /** Rotate the file before a line would take it past this many bytes (default: never). */
  maxBytes?: number;
  /** Rotated files kept besides the current one (default 5). */
  maxFiles?: number;
  /** Lines kept while the sink fails (default 10 000); beyond, the oldest is dropped. */
  maxQueued?: number;
  /** Each failure episode, once (the first line that could not be written). */
  onFailure?(error: Error): void;
  /** The sink wrote its queue again after failing. */
  onRecovered?(): void;
  /** A queued line dropped for good. */
  onDropped?(): void;
}

/** Something lines can be written to besides a file: stdout, stderr, a test's stream. */
export interface LineStream {
  write(chunk: Buffer): unknown;
}

export class LineSink {
  readonly target: AuditTarget;
  readonly #stream: LineStream | undefined;
  readonly #options: SinkOptions;
  #fd: number | undefined;
  #size = 0;
  readonly #queue: Buffer[] = [];
  #error: Error | undefined;

  /** `stream`: where stdout or stderr lines go (default process.stdout or process.stderr). */
  constructor(target: AuditTarget, options: SinkOptions = {}, stream?: LineStream) {
    this.target = target;
    this.#options = options;
    if (target.kind !== "file")
      this.#stream = stream ?? (target.kind === "stdout" ? process.stdout : process.stderr);
  }

  /** The error that keeps lines from being written, while it lasts. */
  get failure(): Error | undefined {
    return this.#error;
  }

  write(line: string): void {
    this.#queue.push(Buffer.from(line + "\n"));
    if (this.#queue.length > (this.#options.maxQueued ?? 10_000)) {
      this.#queue.shift();
      this.#options.onDropped?.();
    }
    this.#drain();
  }

  /** Tries to write what is queued (and, for a file, to open it): true when nothing is pending. */
  recover(): boolean {
    this.#drain();
    return this.#error === undefined;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #drain(): void {
    try {
      if (this.target.kind === "file") this.#open(0);
      while (this.#queue.length > 0) {
        const buf = this.#queue[0] as Buffer;
        if (this.#stream) {
          this.#stream.write(buf);
          this.#queue.shift();
          continue;
        }
        const fd = this.#open(buf.length);
        const n = writeSync(fd, buf);
        this.#size += n;
        // A short write (disk full mid-line) keeps the rest queued, so a line is never split for good.
        if (n < buf.length) {
          this.#queue[0] = buf.subarray(n);
          continue;
        }
        this.#queue.shift();
      }
    } catch (error) {
      if (this.#error === undefined) {
        this.#error = error as Error;
        this.#options.onFailure?.(this.#error);
      }
      if (this.target.kind === "file") this.close();
      return;
    }
    if (this.#error !== undefined) {
      this.#error = undefined;
      this.#options.onRecovered?.();
    }
  }

  /** The descriptor to write `length` more bytes to, after rotating when they would pass maxBytes. */
  #open(length: number): number {
    if (this.target.kind !== "file") throw new Error("not a file sink");
    const { maxBytes } = this.#options;
    if (
      this.#fd !== undefined &&
      maxBytes !== undefined &&
      this.#size > 0 &&
      this.#size + length > maxBytes
    ) {
      this.close();
      rotate(this.target.path, this.#options.maxFiles ?? 5);
    }
    if (this.#fd === undefined) {
      this.#fd = openSync(this.target.path, "a", 0o600);
      this.#size = fstatSync(this.#fd).size;
    }
    return this.#fd;
  }
}

/** PATH → PATH.1 → … → PATH.keep; the oldest beyond `keep` is removed. */
function rotate(path: string, keep: number): void {
  const nth = (i: number): PathLike => `${path}.${i}`;
  rmSync(nth(keep), { force: true });
  for (let i = keep - 1; i >= 1; i--) if (existsSync(nth(i))) renameSync(nth(i), nth(i + 1));
  if (keep >= 1) renameSync(path, nth(1));
  else rmSync(path, { force: true });
}
