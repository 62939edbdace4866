/**
 * The controller's command-line switch for inline-mode freshness, in the shape
 * `refsync controller` composes its flags from (as it does for the dashboard):
 *   --freshness-interval DURATION   check rendered versions this often (default 0: off)
 *   --plugin-config PATH            the plugin's refsync.yaml, for its stores (default $REFSYNC_CONFIG)
 *   --argocd-namespace NS           Argo CD's namespace (default argocd)
 */
import { parseDuration } from "../../api/validate.ts";
import { loadConfig } from "../../render/config.ts";
import type { LeaderLoop } from "../../controller/hooks.ts";
import { freshnessLoop } from "../../controller/freshness/index.ts";

export const freshnessUsage = `  --freshness-interval DURATION  inline mode: re-check rendered secret versions this often and ask
                                 Argo CD / Flux to render again when one changed (default 0: off)
  --plugin-config PATH           the plugin's refsync.yaml, whose stores inline references name
                                 (default: $REFSYNC_CONFIG)
  --argocd-namespace NS          Argo CD's namespace, for Applications named by tracking labels (default argocd)
`;

export const freshnessFlagOptions = {
  "freshness-interval": { type: "string", default: "0s" },
  "plugin-config": { type: "string" },
  "argocd-namespace": { type: "string", default: "argocd" },
} as const;

/** The freshness leader loop, or none when --freshness-interval is 0. */
export function parseFreshnessFlags(
  values: {
    "freshness-interval"?: string;
    "plugin-config"?: string;
    "argocd-namespace"?: string;
    namespace?: string;
  },
  env: NodeJS.ProcessEnv,
  controllerNamespace: string,
): LeaderLoop[] {
  let intervalMs: number;
  try {
    intervalMs = parseDuration(values["freshness-interval"] ?? "0s");
  } catch {
    throw new Error(`--freshness-interval: "${values["freshness-interval"]}" is not a duration (like 5m)`);
  }
  if (intervalMs === 0) return [];
  const configPath = values["plugin-config"] ?? (env.REFSYNC_CONFIG || undefined);
  const loop: LeaderLoop = async (ctx, signal) => {
    // Loaded when this replica starts leading, so a bad file is reported in the log, not at startup.
    const plugin = await loadConfig(configPath);
    return freshnessLoop({
      intervalMs,
      plugin,
      controllerNamespace,
      namespace: values.namespace,
      argocdNamespace: values["argocd-namespace"] ?? "argocd",
    })(ctx, signal);
  };
  return [loop];
}
