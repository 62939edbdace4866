/**
 * The events endpoint on the controller's HTTP server (--metrics-addr):
 *   POST /api/v1/events/{namespace}/{store}     a SecretStore
 *   POST /api/v1/events/_cluster/{store}        a ClusterSecretStore ("_" is in no namespace name)
 * A request goes to the push source of that store whose protocol it speaks
 * (the signed webhook, or Event Grid when it carries aeg-event-type; see
 * src/controller/events/webhook.ts and azure-event-grid.ts), which
 * authenticates it and reports the changes it names. Bodies above 1 MiB are
 * refused before they are read whole (413); a store without such a source is
 * 404; a replica that does not lead answers 503 (senders retry, and reach the
 * leader). Every request is counted by result in refsync_webhook_requests_total.
 */
import type { Express, NextFunction, Request, Response } from "express";
import type { PushRequest, PushSource, StoreRef } from "../controller/events/source.ts";

/** The largest body taken (an Event Grid delivery is at most 1 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface EventsEndpoint {
  /** Only the leader acts on changes. */
  readonly leading: boolean;
  pushSources(store: StoreRef): PushSource[];
}

export interface EventsCounter {
  inc(labels: { result: string }): void;
}

/** Mounts the endpoint (for createApp's `mount`). */
export function mountEvents(
  endpoint: EventsEndpoint,
  counter: EventsCounter,
): (app: Express) => Promise<void> {
  return async (app) => {
    const { default: express } = await import("express"); // loaded already: the app is express's
    const body = express.raw({ type: () => true, limit: MAX_BODY_BYTES });
    const reply = (res: Response, status: number, result: string, payload: unknown) => {
      counter.inc({ result });
      res.status(status).set("Cache-Control", "no-store").json(payload);
    };
    const handle = (store: (req: Request) => StoreRef) => (req: Request, res: Response) => {
      if (!endpoint.leading) {
        res.set("Retry-After", "5");
        return reply(res, 503, "not-ready", { error: "this replica does not lead; retry" });
      }
      const sources = endpoint.pushSources(store(req));
      if (sources.length === 0)
        return reply(res, 404, "unknown-store", {
          error: "no such store, or it has no webhook or azureEventGrid under spec.events",
        });
      const request: PushRequest = {
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]),
        ),
        query: Object.fromEntries(
          Object.entries(req.query as Record<string, unknown>).map(([k, v]) => [
            k,
            typeof v === "string" ? v : undefined,
          ]),
        ),
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      };
      const source = sources.find((s) => s.accepts(request));
      if (!source)
        return reply(res, 401, "unauthenticated", {
          error: "the request is neither signed nor an Event Grid delivery",
        });
      const response = source.receive(request);
      return reply(res, response.status, response.result, response.body);
    };
    app.post(
      "/api/v1/events/_cluster/:store",
      body,
      handle((req) => ({ kind: "ClusterSecretStore", name: String(req.params.store) })),
    );
    app.post(
      "/api/v1/events/:namespace/:store",
      body,
      handle((req) => ({
        kind: "SecretStore",
        namespace: String(req.params.namespace),
        name: String(req.params.store),
      })),
    );
    // The body parser's refusals: too large, or a body that ended early.
    app.use("/api/v1/events", (err: unknown, _req: Request, res: Response, next: NextFunction) => {
      const status = (err as { status?: number }).status;
      if (status === 413)
        return reply(res, 413, "too-large", { error: `the body exceeds ${MAX_BODY_BYTES} bytes` });
      if (status !== undefined && status >= 400 && status < 500)
        return reply(res, status, "bad-request", { error: "the body could not be read" });
      next(err);
    });
  };
}
