/**
 * Progress for long runs, on a terminal only: CI logs and pipes stay quiet.
 */
export interface Progress {
  update(label: string, done: number, total: number): void;
  finish(): void;
}

export const silentProgress: Progress = { update() {}, finish() {} };

/** A one-line, self-overwriting counter on `stream` when it is a TTY; silent otherwise. */
export function ttyProgress(
  stream: { write(text: string): unknown; isTTY?: boolean } = process.stderr,
  intervalMs = 100,
): Progress {
  if (!stream.isTTY) return silentProgress;
  let last = 0;
  let shown = false;
  return {
    update(label, done, total) {
      const now = Date.now();
      if (now - last < intervalMs && done < total) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[K${label} ${done}/${total}`);
    },
    finish() {
      if (shown) stream.write("\r\x1b[K");
      shown = false;
    },
  };
}
