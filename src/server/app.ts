/**
 * The controller's HTTP server: /healthz (the process is alive), /readyz
 * (caches synced), /metrics (Prometheus). More routes (the JSON API and the
 * dashboard) are mounted by whoever builds the app through `mount`, so this
 * module does not grow with them.
 *
 * The three probes are answered by node:http itself, and the mounted routes
 * by an express app built on the first request that is not a probe. Express
 * and its dependencies cost ~11 MiB of RSS (bench/memory.ts), a tenth of an
 * idle controller, which Kubernetes and Prometheus only ever ask these three
 * paths; routing, body parsing and the JSON API stay express's (as design.md
 * lays out server/), loaded when a webhook or a dashboard request first needs them.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import type { Registry } from "prom-client";
import { exposition } from "../controller/text-family.ts";

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
  mount?: ((app: Express) => unknown)[];
}

/** A request handler that builds its express app (with `mount`) on the first request it gets. */
export function lazyExpress(mount: (app: Express) => void | Promise<void>): RequestListener {
  let loading: Promise<Express> | undefined;
  const load = async () => {
    const { default: express } = await import("express");
    const app = express();
    app.disable("x-powered-by");
    await mount(app);
    return app;
  };
  return (req, res) => {
    (loading ??= load()).then(
      (app) => app(req, res),
      (err: unknown) => {
        loading = undefined; // tried again by the next request
        send(res, 500, "text/plain; charset=utf-8", `cannot serve ${req.url ?? ""}: ${String(err)}`);
      },
    );
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

export function createApp(options: AppOptions): RequestListener {
  const { health, registry } = options;
  const probes: Record<string, () => Promise<[number, string, string]> | [number, string, string]> = {
    "/healthz": () => (health.live() ? [200, TEXT, "ok"] : [503, TEXT, "not live"]),
    "/readyz": () =>
      health.ready() ? [200, TEXT, "ok"] : [503, TEXT, health.notReady?.() ?? "caches not synced"],
  };
  const mounted = options.mount?.length
    ? lazyExpress(async (app) => {
        for (const mount of options.mount ?? []) await mount(app);
      })
    : undefined;
  return (req, res) => {
    const path = (req.url ?? "/").replace(/[?#].*$/, "").replace(/(.)\/$/, "$1");
    const probe = req.method === "GET" || req.method === "HEAD" ? probes[path] : undefined;
    if (path === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
      writeMetrics(registry, res).catch((err: unknown) =>
        res.headersSent ? res.destroy(err as Error) : send(res, 500, TEXT, `${path}: ${String(err)}`),
      );
    } else if (probe) {
      Promise.resolve()
        .then(probe)
        .then(
          ([status, type, body]) => send(res, status, type, body),
          (err: unknown) => send(res, 500, TEXT, `${path}: ${String(err)}`),
        );
    } else if (mounted) mounted(req, res);
    else send(res, 404, TEXT, `no route for ${req.method ?? ""} ${path}`);
  };
}

const TEXT = "text/plain; charset=utf-8";

/**
 * The exposition, written one metric family at a time (the per-object ones
 * in 64 KiB Buffers), waiting for the socket to drain: the same bytes as
 * `registry.metrics()` without building all of it (~8 MiB at 10,000
 * ExternalSecrets) in one string first (docs/performance.md). A failure
 * after the first family aborts the response, so Prometheus sees a failed
 * scrape rather than a truncated one.
 */
async function writeMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  if (!registry.contentType.startsWith("text/plain")) {
    send(res, 200, registry.contentType, await registry.metrics()); // OpenMetrics ends differently
    return;
  }
  const chunks = exposition(registry);
  let next = await chunks.next();
  res.writeHead(200, { "Content-Type": registry.contentType });
  if (res.req.method === "HEAD") next = await chunks.return(undefined);
  for (; !next.done; next = await chunks.next())
    if (!res.write(next.value) && !(await drained(res))) return void (await chunks.return(undefined));
  res.end();
}

/** Resolves true once the response can take more, false if the client went away. */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve(!res.destroyed);
    };
    res.on("drain", done);
    res.on("close", done);
  });
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

export function listen(app: RequestListener, addr: string): Promise<RunningServer> {
  const { host, port } = parseAddress(addr);
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.on("error", reject);
    server.listen(port, host ?? "::", () => {
      const a = server.address() as AddressInfo;
      const shown = a.family === "IPv6" ? `[${a.address}]` : a.address;
      resolve({
        server,
        url: `http://${shown}:${a.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
