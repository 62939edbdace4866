/**
 * Inline-mode freshness as a leader-only loop of the controller: every
 * `intervalMs`, a FreshnessChecker round (see checker.ts).
 */
import type { PluginConfig } from "../../render/config.ts";
import { sleep } from "../../kube/sleep.ts";
import type { LeaderLoop } from "../hooks.ts";
import { FreshnessChecker, type FreshnessOptions } from "./checker.ts";
import { storeVersions } from "./reference-versions.ts";

export { FreshnessChecker, type FreshnessOptions, type RoundReport } from "./checker.ts";

export interface FreshnessLoopOptions extends FreshnessOptions {
  /** Time between rounds; default 5 minutes. */
  intervalMs?: number;
  /** The plugin configuration (refsync.yaml), when inline mode reads stores defined there. */
  plugin?: Pick<PluginConfig, "stores">;
  /** The controller's namespace: credentials of plugin-configured stores are read there. */
  controllerNamespace: string;
}

export function freshnessLoop(options: FreshnessLoopOptions): LeaderLoop {
  return async (ctx, signal) => {
    const checker = new FreshnessChecker(
      {
        kube: ctx.kube,
        log: ctx.log,
        versions: storeVersions(ctx, options.plugin, options.controllerNamespace),
      },
      options,
    );
    while (!signal.aborted) {
      try {
        await checker.checkOnce(signal);
      } catch (err) {
        if (!signal.aborted)
          ctx.log.warn({ err: (err as Error).message }, "freshness: round failed; retrying next interval");
      }
      await sleep(options.intervalMs ?? 300_000, signal);
    }
  };
}
