/**
 * The read-only JSON API under /api/v1/. Every response is built from the
 * controller's caches (ControllerView) and the metrics registry.
 *   GET /api/v1/overview          everything the dashboard page shows
 *   GET /api/v1/summary|stores|externalsecrets|secrets|events
 *   GET /api/v1/audit             the latest audit records (./audit.ts)
 * Query: namespace=<ns>, status=healthy|progressing|degraded|stale, sort=name|age|errors.
 */
import { Router, type Request } from "express";
import type { Registry } from "prom-client";
import { QueryError } from "../../errors.ts";
import { buildOverview, sortKeys, statusFilters, type Overview, type Query } from "./model.ts";
import type { ControllerView } from "../../controller/view.ts";
import type { AuditWindow } from "../../store/audit-window.ts";
import { auditHandler } from "./audit.ts";

function oneOf<T extends string>(req: Request, name: string, allowed: readonly T[]): T | undefined {
  const value = req.query[name];
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new QueryError(`query parameter ${name} must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

export function parseQuery(req: Request): Query {
  const namespace = req.query.namespace;
  if (namespace !== undefined && typeof namespace !== "string")
    throw new QueryError("query parameter namespace must be a string");
  return {
    namespace: namespace || undefined,
    status: oneOf(req, "status", statusFilters),
    sort: oneOf(req, "sort", sortKeys),
  };
}

export interface OverviewSource {
  /** Undefined until the controller's caches have synced. */
  view: () => ControllerView | undefined;
  registry: Registry;
  /** The latest audit records (undefined: audit is off). */
  audit?: AuditWindow;
}

/** Loads the overview for a request, or answers 400/503 itself and returns undefined. */
export async function overviewFor(
  source: OverviewSource,
  req: Request,
  res: { status(code: number): { json(body: unknown): unknown } },
): Promise<{ overview: Overview; query: Query } | undefined> {
  let query: Query;
  try {
    query = parseQuery(req);
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    res.status(400).json({ error: error.message });
    return undefined;
  }
  const view = source.view();
  if (!view) {
    res.status(503).json({ error: "the controller's caches are not synced yet" });
    return undefined;
  }
  return { overview: await buildOverview(view, source.registry, query), query };
}

const slices = {
  summary: (o: Overview) => o.summary,
  stores: (o: Overview) => o.stores,
  externalsecrets: (o: Overview) => o.externalSecrets,
  secrets: (o: Overview) => o.secrets,
  events: (o: Overview) => o.events,
  overview: (o: Overview) => o,
};

export function apiRouter(source: OverviewSource): Router {
  const router = Router();
  router.get("/audit", auditHandler(source.audit));
  for (const [path, slice] of Object.entries(slices)) {
    router.get(`/${path}`, async (req, res) => {
      const loaded = await overviewFor(source, req, res);
      if (loaded) res.set("Cache-Control", "no-store").json(slice(loaded.overview));
    });
  }
  return router;
}
