/**
 * `refsync controller`: runs the controller with its metrics/health server
 * until SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { Controller, type ControllerOptions } from "../controller/manager.ts";
import { LOG_LEVELS, createLogger } from "../log.ts";
import { createApp, listen, parseAddress, type RunningServer } from "../server/app.ts";
import { mountEvents } from "../server/events.ts";
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
import { flagErrorMessage, oneLine, wantsDebug } from "./command-line.ts";
import { VERSION } from "./version.ts";
import { DEFAULT_CONTROLLER_CLASS } from "../controller/secretstore/controller-class.ts";
import { Auditor, AuditWriter } from "../store/audit.ts";
import { parseAuditTarget, parseSize, type AuditTarget } from "../store/audit-sink.ts";
import { AuditWindow } from "../store/audit-window.ts";

const USAGE = `usage: refsync controller [options]

  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --namespace NS             watch only this namespace (default: all)
  --workers N                concurrent reconciles (default 4)
  --controller-class NAME    serve only stores and generators whose spec.controller is empty or
                             NAME, and their ExternalSecrets (default "default", as ESO's)
  --unsafe-allow-generic-targets  write spec.target.manifest objects (ConfigMaps, custom
                             resources) as ESO's flag of that name; also grant RBAC on those kinds
  --metrics-addr HOST:PORT   /metrics, /healthz, /readyz (default :8080; "0" disables)
  --log-level LEVEL          trace|debug|info|warn|error|fatal|silent (default info); debug also
                             prints the stack of a start-up error
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
  --audit-log stdout|stderr|file:PATH  a hash-chained audit record of every backend operation
                             (- is stdout, a bare path a file; default: $REFSYNC_AUDIT_LOG; off when
                             unset); check it with refsync audit verify (docs/audit.md)
  --audit-log-max-size SIZE  rotate the audit file at this size (default 100Mi)
  --audit-log-max-files N    rotated audit files kept (default 5)
  --audit-required           fail closed: no backend call while the audit sink cannot write
                             (default: keep serving, /readyz fails and the alert fires)
${freshnessUsage}${rolloutUsage}${dashboardUsage}`;

export interface ControllerFlags {
  options: Omit<ControllerOptions, "kc" | "log">;
  kubeconfig?: string;
  /** --audit-log and its options; undefined: no audit records. */
  audit?: { target: AuditTarget; maxBytes: number; maxFiles: number; required: boolean };
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
  const { values } = withFlagErrors(() =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        kubeconfig: { type: "string" },
        namespace: { type: "string" },
        workers: { type: "string", default: "4" },
        "controller-class": { type: "string", default: DEFAULT_CONTROLLER_CLASS },
        "unsafe-allow-generic-targets": { type: "boolean", default: false },
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
        "audit-log": { type: "string" },
        "audit-log-max-size": { type: "string", default: "100Mi" },
        "audit-log-max-files": { type: "string", default: "5" },
        "audit-required": { type: "boolean", default: false },
        ...dashboardFlagOptions,
        ...freshnessFlagOptions,
        ...rolloutFlagOptions,
      },
    }),
  );
  for (const flag of ["metrics-addr", "dashboard-addr"] as const) {
    const addr = values[flag];
    if (addr === undefined || addr === "0") continue;
    try {
      parseAddress(addr);
    } catch {
      throw new Error(`--${flag}: "${addr}" is not HOST:PORT or :PORT (like :8080 or 127.0.0.1:8080)`);
    }
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`--workers: "${values.workers}" is not a positive integer`);
  if (!values["controller-class"]) throw new Error("--controller-class: must not be empty");
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
    audit: parseAuditFlags(values, env),
    metricsAddr: values["metrics-addr"] === "0" ? undefined : values["metrics-addr"],
    logLevel,
    dashboard: parseDashboardFlags(values),
    options: {
      workers,
      controllerClass: values["controller-class"],
      allowGenericTargets: values["unsafe-allow-generic-targets"],
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

/** A start-up failure: its message names the cause and the fix, in one line. */
export class StartupError extends Error {
  override readonly name = "StartupError";
}

/** What the controller talks to: --kubeconfig, else $KUBECONFIG, ~/.kube/config or the pod's service account. */
export function loadControllerKubeConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): KubeConfig {
  const kc = new KubeConfig();
  const source = path
    ? `--kubeconfig ${path}`
    : env.KUBECONFIG
      ? `$KUBECONFIG (${env.KUBECONFIG})`
      : "~/.kube/config";
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new StartupError(`${source}: no such file; pass the path of a kubeconfig`);
    if (code === "EACCES")
      throw new StartupError(`${source}: permission denied; make the file readable by this user`);
    if (code === "EISDIR")
      throw new StartupError(`${source}: is a directory; pass the kubeconfig file itself`);
    throw new StartupError(
      `${source}: not a usable kubeconfig (${oneLine(err)}); check it with kubectl config view`,
    );
  }
  const cluster = kc.getCurrentCluster();
  // client-node's last resort when nothing is configured: http://localhost:8080, which it then refuses to use.
  if (
    !cluster ||
    (cluster.name === "cluster" && cluster.server === "http://localhost:8080" && !path && !env.KUBECONFIG)
  ) {
    throw new StartupError(
      "no Kubernetes configuration: not in a pod, no $KUBECONFIG, no ~/.kube/config; pass --kubeconfig PATH",
    );
  }
  if (cluster.server.startsWith("http://") && !cluster.skipTLSVerify) {
    throw new StartupError(
      `${source}: the server ${cluster.server} is plain HTTP, which the Kubernetes client refuses; use its https:// address`,
    );
  }
  return kc;
}

/** Listens, turning Node's socket errors into one line that names the flag to change. */
async function listenOn(
  flag: string,
  addr: string,
  start: () => Promise<RunningServer>,
): Promise<RunningServer> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof StartupError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new StartupError(
        `${flag} ${addr}: the address is in use by another process; pick a free port with ${flag}`,
      );
    if (code === "EACCES")
      throw new StartupError(
        `${flag} ${addr}: permission denied (ports below 1024 need privileges); use a port above 1023`,
      );
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN")
      throw new StartupError(
        `${flag} ${addr}: this host has no such address; use :PORT (all interfaces) or 127.0.0.1:PORT`,
      );
    throw new StartupError(`${flag} ${addr}: cannot listen (${oneLine(err)})`);
  }
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
    process.stderr.write(`refsync controller: ${(err as Error).message} (see refsync controller --help)\n`);
    return 2;
  }
  const log = createLogger({ level: flags.logLevel });
  log.info({ version: VERSION, node: process.versions.node }, `refsync ${VERSION} controller starting`);
  let started: Started;
  try {
    started = await startController(flags, log);
  } catch (err) {
    // One line naming the cause and the fix; the stack only when asked for.
    process.stderr.write(`refsync controller: ${err instanceof StartupError ? err.message : oneLine(err)}\n`);
    if (wantsDebug(argv) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
  const { controller, server, dashboard } = started;
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

/** The controller's auditor: failures logged and counted, records counted and kept for /api/v1/audit. */
function controllerAuditor(
  options: NonNullable<ControllerFlags["audit"]>,
  metrics: ControllerMetrics,
  log: ReturnType<typeof createLogger>,
  window: AuditWindow | undefined,
  replica: string,
): Auditor {
  metrics.auditSinkUp.set(1);
  const writer = new AuditWriter(options.target, {
    maxBytes: options.maxBytes,
    maxFiles: options.maxFiles,
    onFailure: (error) => {
      metrics.auditSinkFailures.inc();
      metrics.auditSinkUp.set(0);
      log.error(
        { err: error.message, required: options.required },
        options.required
          ? "audit sink failing: backend calls stop until it recovers"
          : "audit sink failing: records are queued, backend calls go on",
      );
    },
    onRecovered: () => {
      metrics.auditSinkUp.set(1);
      log.info("audit sink writing again");
    },
    onDropped: () => metrics.auditDropped.inc(),
  });
  return new Auditor(
    writer,
    {
      component: "controller",
      version: VERSION,
      replica,
    },
    {
      required: options.required,
      window,
      onRecord: (r) => metrics.auditRecords.inc({ provider: r.provider, outcome: r.outcome }),
    },
  );
}

interface Started {
  controller: Controller;
  server?: RunningServer;
  dashboard?: RunningServer;
}

/** Everything up to serving: any failure here is a StartupError (or unexpected), and what started is closed. */
async function startController(
  flags: ControllerFlags,
  log: ReturnType<typeof createLogger>,
): Promise<Started> {
  const kc = loadControllerKubeConfig(flags.kubeconfig);
  const metrics = new ControllerMetrics({
    defaultMetrics: true,
    perObjectLabels: flags.dashboard.perObjectLabels,
    version: VERSION,
  });
  const auditWindow = flags.audit ? new AuditWindow() : undefined;
  const audit =
    flags.audit &&
    controllerAuditor(
      flags.audit,
      metrics,
      log,
      auditWindow,
      flags.options.leaderElection?.identity ?? process.env.POD_NAME ?? hostname(),
    );
  const controller = await Controller.create({ ...flags.options, kc, log, metrics, audit });
  let server: RunningServer | undefined;
  try {
    const metricsAddr = flags.metricsAddr;
    server = metricsAddr
      ? await listenOn("--metrics-addr", metricsAddr, () =>
          listen(
            createApp({
              registry: metrics.registry,
              health: {
                live: () => true,
                ready: () => controller.ready && !audit?.failure,
                notReady: () =>
                  audit?.failure ? `audit sink failing: ${audit.failure.message}` : "caches not synced",
              },
              mount: [mountEvents(controller.events, metrics.webhookRequests)],
            }),
            metricsAddr,
          ),
        )
      : undefined;
    if (server) log.info({ url: server.url }, "serving /metrics, /healthz, /readyz");
    const dashboardAddr = flags.dashboard.addr;
    const dashboard = dashboardAddr
      ? await listenOn("--dashboard-addr", dashboardAddr, async () => {
          try {
            return (await serveDashboard(flags.dashboard, {
              kube: controller.kube,
              metrics,
              audit: auditWindow,
            })) as RunningServer;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code) throw err;
            throw new StartupError(oneLine(err)); // the dashboard's own checks: token file, exposure
          }
        })
      : undefined;
    if (dashboard) log.info({ url: dashboard.url }, "serving the dashboard and /api/v1");
    return { controller, server, dashboard };
  } catch (err) {
    await server?.close();
    await controller.stop();
    throw err;
  }
}

function parseAuditFlags(
  values: {
    "audit-log"?: string;
    "audit-log-max-size"?: string;
    "audit-log-max-files"?: string;
    "audit-required"?: boolean;
  },
  env: NodeJS.ProcessEnv,
): ControllerFlags["audit"] {
  const log = values["audit-log"] ?? (env.REFSYNC_AUDIT_LOG || undefined);
  if (log === undefined) {
    if (values["audit-required"]) throw new Error("--audit-required: needs --audit-log");
    return undefined;
  }
  const flag = (name: string, parse: () => unknown) => {
    try {
      return parse();
    } catch (err) {
      throw new Error(`--${name}: ${(err as Error).message}`);
    }
  };
  const maxFiles = Number(values["audit-log-max-files"]);
  if (!Number.isInteger(maxFiles) || maxFiles < 0)
    throw new Error(`--audit-log-max-files: "${values["audit-log-max-files"]}" is not a whole number`);
  return {
    target: flag("audit-log", () => parseAuditTarget(log, "stdout")) as AuditTarget,
    maxBytes: flag("audit-log-max-size", () => parseSize(values["audit-log-max-size"] ?? "100Mi")) as number,
    maxFiles,
    required: values["audit-required"] ?? false,
  };
}

/** Runs node:util parseArgs, with our one-line messages for its errors. */
function withFlagErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new Error(flagErrorMessage(err));
  }
}
