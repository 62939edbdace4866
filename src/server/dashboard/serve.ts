/**
 * The dashboard's own listener and flags for `refsync controller`. It is a
 * separate port from /metrics so that Prometheus can scrape the metrics port
 * cluster-wide while the dashboard stays on 127.0.0.1 (reach it with
 * `kubectl port-forward`) unless an operator exposes it with a token.
 */
import { readFileSync } from "node:fs";
import { lazyExpress, listen, parseAddress, type RunningServer } from "../app.ts";
import type { ControllerMetrics } from "../../controller/metrics.ts";
import type { AuditWindow } from "../../store/audit-window.ts";
import {
  checkAccessConfig,
  kubeTokenReviewer,
  type DashboardAccess,
  type TokenReviewClient,
} from "../api/auth.ts";

export const dashboardUsage = `  --dashboard-addr HOST:PORT dashboard and JSON API (default 127.0.0.1:8081; "0" disables)
  --dashboard-token-file PATH  read-only bearer token required when the dashboard is not on loopback
  --dashboard-token-review   accept callers whose bearer token the API server authenticates (TokenReview)
  --metrics-per-object-labels true|false  per-object metric labels (default true; false for very large clusters)
`;

/** parseArgs option specs, spread into the controller command's own. */
export const dashboardFlagOptions = {
  "dashboard-addr": { type: "string", default: "127.0.0.1:8081" },
  "dashboard-token-file": { type: "string" },
  "dashboard-token-review": { type: "boolean", default: false },
  "metrics-per-object-labels": { type: "string", default: "true" },
} as const;

export interface DashboardFlags {
  /** Undefined: no dashboard. */
  addr?: string;
  tokenFile?: string;
  tokenReview: boolean;
  perObjectLabels: boolean;
}

export function parseDashboardFlags(values: {
  "dashboard-addr"?: string;
  "dashboard-token-file"?: string;
  "dashboard-token-review"?: boolean;
  "metrics-per-object-labels"?: string;
}): DashboardFlags {
  const perObject = values["metrics-per-object-labels"] ?? "true";
  if (perObject !== "true" && perObject !== "false")
    throw new Error("--metrics-per-object-labels: true or false");
  const addr = values["dashboard-addr"] === "0" ? undefined : values["dashboard-addr"];
  if (addr) parseAddress(addr);
  return {
    addr,
    tokenFile: values["dashboard-token-file"],
    tokenReview: values["dashboard-token-review"] ?? false,
    perObjectLabels: perObject === "true",
  };
}

export function dashboardAccess(flags: DashboardFlags, kube: TokenReviewClient): DashboardAccess {
  const { host } = parseAddress(flags.addr ?? "127.0.0.1:0");
  let token: string | undefined;
  if (flags.tokenFile) {
    try {
      token = readFileSync(flags.tokenFile, "utf8").trim();
    } catch (err) {
      throw new Error(`--dashboard-token-file: cannot read ${flags.tokenFile}: ${(err as Error).message}`);
    }
    if (!token) throw new Error(`--dashboard-token-file: ${flags.tokenFile} is empty`);
  }
  return {
    bindAddress: host ?? "::",
    token,
    tokenReview: flags.tokenReview ? kubeTokenReviewer(kube) : undefined,
  };
}

/** Starts the dashboard listener, or nothing when --dashboard-addr is "0". */
export async function serveDashboard(
  flags: DashboardFlags,
  deps: { kube: TokenReviewClient; metrics: ControllerMetrics; audit?: AuditWindow },
): Promise<RunningServer | undefined> {
  if (!flags.addr) return undefined;
  const access = dashboardAccess(flags, deps.kube);
  // Checked now, not when the routes mount: an exposed dashboard must stop the start, not a request.
  checkAccessConfig(access);
  // The page and the API (and express) load with the first request: most controllers are never asked.
  const app = lazyExpress(async (app) => {
    const { mountDashboard } = await import("./mount.ts");
    mountDashboard(
      app,
      { view: () => deps.metrics.view, registry: deps.metrics.registry, audit: deps.audit },
      access,
    );
  });
  return listen(app, flags.addr);
}
