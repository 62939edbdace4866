/**
 * The controller's rollout switches, in the shape `refsync controller`
 * composes its flags from (as for freshness and the dashboard).
 */
import { parseDuration } from "../../api/validate.ts";
import { Rollouts } from "../../controller/rollout/rollouts.ts";

export const rolloutUsage = `  --rollout-window DURATION      changes within this window merge into one restart per workload (default 10s)
  --rollout-max-concurrent N     workloads restarted (still rolling) at once per namespace (default 2)
  --rollout-report-interval DURATION  how often stale pods are counted (default 30s)
  --rollout-deadline DURATION    a rollout not done this long after a restart is stuck; Deployments use
                                 their progressDeadlineSeconds (default 10m)
`;

export const rolloutFlagOptions = {
  "rollout-window": { type: "string", default: "10s" },
  "rollout-max-concurrent": { type: "string", default: "2" },
  "rollout-report-interval": { type: "string", default: "30s" },
  "rollout-deadline": { type: "string", default: "10m" },
} as const;

type Values = { [K in keyof typeof rolloutFlagOptions]?: string } & { namespace?: string };

/** The rollout work (hook, leader loop and consumer source), configured from flags. */
export function parseRolloutFlags(values: Values): Rollouts {
  const duration = (flag: "rollout-window" | "rollout-report-interval" | "rollout-deadline") => {
    const text = values[flag] ?? rolloutFlagOptions[flag].default;
    try {
      return parseDuration(text);
    } catch {
      throw new Error(`--${flag}: "${text}" is not a duration (like 10s)`);
    }
  };
  const max = Number(
    values["rollout-max-concurrent"] ?? rolloutFlagOptions["rollout-max-concurrent"].default,
  );
  if (!Number.isInteger(max) || max < 1)
    throw new Error(
      `--rollout-max-concurrent: "${values["rollout-max-concurrent"]}" is not a positive integer`,
    );
  return new Rollouts({
    windowMs: duration("rollout-window"),
    maxConcurrent: max,
    reportIntervalMs: duration("rollout-report-interval"),
    progressDeadlineMs: duration("rollout-deadline"),
    namespace: values.namespace,
  });
}
