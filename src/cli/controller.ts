/**
 * `refsync controller`: runs the controller with its metrics/health server
 * until SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { Controller, type ControllerOptions } from "../controller/manager.ts";
import { LOG_LEVELS, createLogger } from "../log.ts";
import { createApp, listen } from "../server/app.ts";
import { ControllerMetrics } from "../controller/metrics.ts";
import {
  dashboardFlagOptions,
  dashboardUsage,
  parseDashboardFlags,
  serveDashboard,
  type DashboardFlags,
} from "../server/dashboard/serve.ts";
import { parseDuration } from "../api/validate.ts";
import { freshnessFlagOptions, freshnessUsage, parseFreshnessFlags } from "./flags/freshness.ts";
import { parseRolloutFlags, rolloutFlagOptions, rolloutUsage } from "./flags/rollout.ts";

const USAGE = `usage: refsync controller [options]

  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --namespace NS             watch only this namespace (default: all)
  --workers N                concurrent reconciles (default 4)
  --metrics-addr HOST:PORT   /metrics, /healthz, /readyz (default :8080; "0" disables)
  --log-level LEVEL          trace|debug|info|warn|error|fatal|silent (default info)
  --leader-elect             run leader election (needed with more than one replica)
  --lease-name NAME          Lease name (default refsync-controller)
  --lease-namespace NS       Lease namespace (default: the controller's: $POD_NAMESPACE, else its
                             service account's namespace; outside a cluster, set it)
  --leader-id ID             identity in the Lease (default: $POD_NAME or hostname-pid)
  --lease-duration DURATION  how long a Lease holds without renewal (default 15s)
  --renew-deadline DURATION  leader steps down when it cannot renew this long (default 10s)
  --retry-period DURATION    how often to try to acquire/renew (default 2s)
  --hash-key-secret NS/NAME  Secret holding the data-hash HMAC key, created if missing
                             (default: <lease-namespace>/refsync-hash-key)
${freshnessUsage}${rolloutUsage}${dashboardUsage}`;

export interface ControllerFlags {
  options: Omit<ControllerOptions, "kc" | "log">;
  kubeconfig?: string;
  metricsAddr: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  dashboard: DashboardFlags;
}

/** In a pod: the namespace of its service account (mounted unless automountServiceAccountToken is off). */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

function serviceAccountNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses flags; throws an Error with a one-line message on bad input.
 * `podNamespace` reads the service account's namespace file (tests pass their own).
 */
export function parseControllerFlags(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  podNamespace: () => string | undefined = serviceAccountNamespace,
): ControllerFlags {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      kubeconfig: { type: "string" },
      namespace: { type: "string" },
      workers: { type: "string", default: "4" },
      "metrics-addr": { type: "string", default: ":8080" },
      "log-level": { type: "string", default: "info" },
      "leader-elect": { type: "boolean", default: false },
      "lease-name": { type: "string", default: "refsync-controller" },
      "lease-namespace": { type: "string" },
      "leader-id": { type: "string" },
      "lease-duration": { type: "string", default: "15s" },
      "renew-deadline": { type: "string", default: "10s" },
      "retry-period": { type: "string", default: "2s" },
      "hash-key-secret": { type: "string" },
      ...dashboardFlagOptions,
      ...freshnessFlagOptions,
      ...rolloutFlagOptions,
    },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`--workers: "${values.workers}" is not a positive integer`);
  const logLevel = values["log-level"] as (typeof LOG_LEVELS)[number];
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level: one of ${LOG_LEVELS.join(", ")}`);
  const duration = (flag: "lease-duration" | "renew-deadline" | "retry-period") => {
    try {
      return parseDuration(values[flag]);
    } catch {
      throw new Error(`--${flag}: "${values[flag]}" is not a duration (like 15s)`);
    }
  };
  // The controller's own namespace: never a silent "default", which differs between runs in and out of a cluster.
  const ownNamespace = values["lease-namespace"] || env.POD_NAMESPACE || podNamespace();
  const leaseDurationMs = duration("lease-duration");
  const renewDeadlineMs = duration("renew-deadline");
  const retryPeriodMs = duration("retry-period");
  if (values["leader-elect"] && !(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error("leader election needs --retry-period < --renew-deadline < --lease-duration");
  }
  if (values["leader-elect"] && !ownNamespace) {
    throw new Error(
      "--leader-elect: no namespace for the Lease (not in a pod, no $POD_NAMESPACE): pass --lease-namespace NS",
    );
  }
  const leaseNamespace = ownNamespace ?? "default";
  const rollouts = parseRolloutFlags(values);
  let hashKeySecret: ControllerOptions["hashKeySecret"];
  if (values["hash-key-secret"]) {
    const [ns, name] = values["hash-key-secret"].split("/");
    if (!ns || !name) throw new Error("--hash-key-secret: want NAMESPACE/NAME");
    hashKeySecret = { namespace: ns, name };
  } else if (ownNamespace) {
    hashKeySecret = { namespace: ownNamespace, name: "refsync-hash-key" };
  } else {
    // A key read from another place is another key: every hash would change at once.
    throw new Error(
      "--hash-key-secret: no namespace for the data-hash key Secret (not in a pod, no $POD_NAMESPACE, " +
        "no --lease-namespace): pass --hash-key-secret NAMESPACE/NAME, the same on every run",
    );
  }
  return {
    kubeconfig: values.kubeconfig,
    metricsAddr: values["metrics-addr"] === "0" ? undefined : values["metrics-addr"],
    logLevel,
    dashboard: parseDashboardFlags(values),
    options: {
      workers,
      namespace: values.namespace,
      hashKeySecret,
      leaderLoops: [...parseFreshnessFlags(values, env, leaseNamespace), rollouts.loop],
      hooks: [rollouts.hook],
      consumers: rollouts,
      leaderElection: values["leader-elect"]
        ? {
            name: values["lease-name"],
            namespace: leaseNamespace,
            identity: values["leader-id"] ?? env.POD_NAME,
            leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
            renewDeadlineMs,
            retryPeriodMs,
          }
        : undefined,
    },
  };
}

export async function controllerCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  let flags: ControllerFlags;
  try {
    flags = parseControllerFlags(argv);
  } catch (err) {
    process.stderr.write(`refsync controller: ${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: flags.logLevel });
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromDefault();
  const metrics = new ControllerMetrics({
    defaultMetrics: true,
    perObjectLabels: flags.dashboard.perObjectLabels,
  });
  const controller = await Controller.create({ ...flags.options, kc, log, metrics });
  const server = flags.metricsAddr
    ? await listen(
        createApp({
          registry: metrics.registry,
          health: { live: () => true, ready: () => controller.ready },
        }),
        flags.metricsAddr,
      )
    : undefined;
  if (server) log.info({ url: server.url }, "serving /metrics, /healthz, /readyz");
  const dashboard = await serveDashboard(flags.dashboard, { kube: controller.kube, metrics });
  if (dashboard) log.info({ url: dashboard.url }, "serving the dashboard and /api/v1");
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  // A stop request must work even while the caches are still syncing (an API server that is not there yet).
  controller.start().then(
    () =>
      log.info(
        { namespace: flags.options.namespace ?? "(all)", workers: flags.options.workers },
        "controller started",
      ),
    (err: unknown) => log.error({ err: (err as Error).message }, "controller failed to start"),
  );
  await stopped;
  log.info("stopping");
  // Kubernetes kills the pod after its grace period anyway; exit visibly before that.
  const watchdog = setTimeout(() => {
    log.error("graceful stop took longer than 20 s; exiting");
    process.exit(1);
  }, 20_000);
  watchdog.unref();
  await controller.stop();
  log.info("stopped");
  await server?.close();
  await dashboard?.close();
  return 0;
}
