/**
 * GET /api/v1/audit: the controller's latest audit records (the in-memory
 * window; the --audit-log stream is the full record), newest first.
 * Query: namespace, externalsecret (a name), store (as records name it:
 * SecretStore/NS/NAME or ClusterSecretStore/NAME), key, outcome, since and
 * until (ISO times), limit.
 */
import type { Request, Response } from "express";
import { QueryError } from "../../errors.ts";
import type { AuditOutcome } from "../../store/audit.ts";
import type { AuditFilter, AuditWindow } from "../../store/audit-window.ts";

const OUTCOMES: readonly AuditOutcome[] = ["ok", "not_found", "denied", "throttled", "error"];

export function parseAuditQuery(query: Request["query"]): AuditFilter {
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string") throw new QueryError(`query parameter ${name} must be a string`);
    return value;
  };
  const time = (name: string): string | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new QueryError(`query parameter ${name} must be an ISO time`);
    return new Date(ms).toISOString();
  };
  const outcome = text("outcome");
  if (outcome !== undefined && !(OUTCOMES as readonly string[]).includes(outcome))
    throw new QueryError(`query parameter outcome must be one of ${OUTCOMES.join(", ")}`);
  const limit = text("limit");
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit))
    throw new QueryError("query parameter limit must be a positive integer");
  const filter: AuditFilter = {
    namespace: text("namespace"),
    name: text("externalsecret"),
    store: text("store"),
    key: text("key"),
    outcome: outcome as AuditOutcome | undefined,
    since: time("since"),
    until: time("until"),
    limit: limit === undefined ? undefined : Number(limit),
  };
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as AuditFilter;
}

export function auditHandler(window: AuditWindow | undefined) {
  return (req: Request, res: Response): void => {
    res.set("Cache-Control", "no-store");
    if (!window) {
      res.status(404).json({ error: "audit records are off (refsync controller --audit-log)" });
      return;
    }
    try {
      res.json({ records: window.query(parseAuditQuery(req.query)) });
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      res.status(400).json({ error: error.message });
    }
  };
}
