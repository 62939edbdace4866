// What the change-source tests share: a ChangeSourceContext that records the
// changes a source reports, running a source until the test stops it, and
// waiting for a condition with a generous deadline.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { silentLogger } from "../../src/log.ts";
import type { ChangeSource, ChangeSourceContext, KeyChange } from "../../src/controller/events/source.ts";
import type { ProviderContext } from "../../src/providers/types.ts";

export interface RecordingContext extends ChangeSourceContext {
  readonly changes: KeyChange[];
  /** What `readKeys()` answers: add the keys the store's ExternalSecrets read. */
  readonly read: Set<string>;
  /** How often the source said its health changed. */
  healthChanges: number;
}

/** A context whose sink records each change (and calls `onChange`, to look at the backend then). */
export function recordingContext(
  provider: ProviderContext,
  onChange?: (change: KeyChange) => void,
): RecordingContext {
  const ctx: RecordingContext = {
    changes: [],
    read: new Set(),
    healthChanges: 0,
    sink: (change) => {
      ctx.changes.push(change);
      onChange?.(change);
    },
    log: silentLogger,
    provider,
    healthChanged: () => ctx.healthChanges++,
    readKeys: () => ctx.read,
  };
  return ctx;
}

/** Starts `source`; `stop()` aborts it and waits until it has stopped. */
export function run(source: ChangeSource): { stop(): Promise<void> } {
  const abort = new AbortController();
  const running = source.start(abort.signal);
  return {
    async stop() {
      abort.abort();
      await running;
    },
  };
}

/** Waits until `check()` holds, polling; fails naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}
