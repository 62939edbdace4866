/**
 * The controller's HTTP server: /healthz (the process is alive), /readyz
 * (caches synced), /metrics (Prometheus). More routes (the JSON API and the
 * dashboard) are mounted by whoever builds the app through `mount`, so this
 * module does not grow with them.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express } from "express";
import type { Registry } from "prom-client";

export interface HealthSource {
  /** Liveness: false only when the process cannot recover by itself. */
  live(): boolean;
  /** Readiness: informer caches synced (and the audit sink writing). */
  ready(): boolean;
  /** Why it is not ready (default: caches not synced). */
  notReady?(): string;
}

export interface AppOptions {
  registry: Registry;
  health: HealthSource;
  /** Adds further routes (dashboard, JSON API). */
  mount?: ((app: Express) => void)[];
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  const probe = (path: string, check: () => boolean, failure: () => string) =>
    app.get(path, (_req, res) => {
      const ok = check();
      res
        .status(ok ? 200 : 503)
        .type("text")
        .send(ok ? "ok" : failure());
    });
  probe(
    "/healthz",
    () => options.health.live(),
    () => "not live",
  );
  probe(
    "/readyz",
    () => options.health.ready(),
    () => options.health.notReady?.() ?? "caches not synced",
  );
  app.get("/metrics", async (_req, res) => {
    res.type(options.registry.contentType).send(await options.registry.metrics());
  });
  for (const mount of options.mount ?? []) mount(app);
  return app;
}

/** `host:port` or `:port` (all interfaces); port 0 picks a free one. */
export function parseAddress(addr: string): { host: string | undefined; port: number } {
  const at = addr.lastIndexOf(":");
  const host = at > 0 ? addr.slice(0, at).replace(/^\[|\]$/g, "") : undefined;
  const port = Number(addr.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid address "${addr}" (want host:port)`);
  return { host, port };
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export function listen(app: Express, addr: string): Promise<RunningServer> {
  const { host, port } = parseAddress(addr);
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host ?? "::", (err?: Error) => {
      if (err) return reject(err);
      const a = server.address() as AddressInfo;
      const shown = a.family === "IPv6" ? `[${a.address}]` : a.address;
      resolve({
        server,
        url: `http://${shown}:${a.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.on("error", reject);
  });
}
