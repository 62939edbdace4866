/**
 * `npm run demo`: the whole system on this machine. Starts a local
 * Kubernetes API server (the test cluster), installs the CRDs, starts the
 * controller, renders examples/demo-app with the plugin (deferred mode),
 * applies the result, waits until every ExternalSecret is Ready, and prints
 * the rendered manifests, each Secret's key names (never values) and each
 * object's health. Exits 0 when done; `npm run demo -- --serve` keeps the
 * controller running (metrics, health, dashboard) until Ctrl-C.
 */
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { ExternalSecret } from "../src/api/v1alpha1.ts";
import { runRender } from "../src/cli/render.ts";
import { Controller } from "../src/controller/manager.ts";
import { KubeClient, type KubeObject } from "../src/kube/client.ts";
import { resourceTypes, type ResourceType } from "../src/kube/resources.ts";
import { createLogger } from "../src/log.ts";
import { createApp, listen } from "../src/server/app.ts";
import { mountDashboard } from "../src/server/dashboard/mount.ts";
import { ControllerMetrics } from "../src/controller/metrics.ts";
import { startCluster } from "../test/cluster/index.ts";
import { ensureCrds, waitFor } from "../test/controller/harness.ts";

const serve = process.argv.includes("--serve");
const root = join(import.meta.dirname, "..");
const say = (text: string) => process.stdout.write(`${text}\n`);

/** The kinds the demo app renders to. */
const kinds: Record<string, ResourceType> = {
  ...Object.fromEntries(Object.values(resourceTypes).map((t) => [t.kind, t])),
  Deployment: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
};

async function renderDemo(namespace: string): Promise<string> {
  let out = "";
  let err = "";
  const code = await runRender([join(root, "examples", "demo-app"), "--namespace", namespace], undefined, {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env: {},
  });
  if (code !== 0) throw new Error(`refsync render failed:\n${err}`);
  return out;
}

function health(obj: {
  status?: { conditions?: { type: string; status: string; reason: string }[]; observedGeneration?: number };
  metadata: { generation?: number };
}): string {
  const ready = obj.status?.conditions?.find((c) => c.type === "Ready");
  if (!ready) return "Progressing (no Ready condition yet)";
  const current =
    obj.status?.observedGeneration === undefined || obj.status.observedGeneration === obj.metadata.generation;
  return ready.status === "True" && current
    ? `Healthy (Ready, ${ready.reason})`
    : `Degraded (${ready.reason})`;
}

const cluster = await startCluster({ crds: true });
const kube = await KubeClient.fromKubeConfig(cluster.kc);
let controller: Controller | undefined;
let server: Awaited<ReturnType<typeof listen>> | undefined;
let exitCode = 0;
try {
  await ensureCrds(kube);
  const namespace = await cluster.createNamespace("demo");
  say(`API server ${cluster.server}, kubeconfig ${cluster.kubeconfigPath}, namespace ${namespace}`);

  const metrics = new ControllerMetrics();
  controller = await Controller.create({
    kc: cluster.kc,
    log: createLogger({ level: serve ? "info" : "warn", destination: process.stderr }),
    metrics,
    hashKeySecret: { namespace, name: "refsync-hash-key" },
  });
  await controller.start();
  const running = controller;
  server = await listen(
    createApp({
      registry: metrics.registry,
      health: { live: () => true, ready: () => running.ready },
      // The read-only dashboard and /api/v1 (loopback only, so no token needed).
      mount: [
        (app) =>
          mountDashboard(
            app,
            { view: () => metrics.view, registry: metrics.registry },
            { bindAddress: "127.0.0.1" },
          ),
      ],
    }),
    "127.0.0.1:0",
  );
  say(`controller running; metrics and health at ${server.url}/metrics, /healthz, /readyz\n`);

  const rendered = await renderDemo(namespace);
  say("── rendered by `refsync render examples/demo-app` (deferred mode: references, no values) ──");
  say(rendered.trimEnd());
  const objects = parseAllDocuments(rendered)
    .map((d) => d.toJS() as (KubeObject & { kind: string }) | null)
    .filter((o): o is KubeObject & { kind: string } => o !== null);
  // Stores first, as a sync wave would: ExternalSecrets then find them at once.
  const order = (o: { kind: string }) => (o.kind.endsWith("SecretStore") ? 0 : 1);
  for (const obj of [...objects].sort((a, b) => order(a) - order(b))) {
    const type = kinds[obj.kind];
    if (!type) throw new Error(`demo: do not know how to apply kind ${obj.kind}`);
    if (type.namespaced) obj.metadata.namespace = namespace;
    await kube.apply(type, obj, { fieldManager: "refsync-demo", force: true });
  }
  say(`\n── applied ${objects.length} objects; waiting for every ExternalSecret to be Ready ──`);
  const names = objects.filter((o) => o.kind === "ExternalSecret").map((o) => o.metadata.name);
  const ready: ExternalSecret[] = [];
  for (const name of names) {
    ready.push(
      await waitFor(
        async () => {
          const es = await kube.get<ExternalSecret>(resourceTypes.externalSecret, namespace, name);
          return es && health(es).startsWith("Healthy") ? es : undefined;
        },
        `ExternalSecret ${name} Ready`,
        60_000,
      ),
    );
  }
  say("\n── Secrets written by the controller (key names only) ──");
  for (const es of ready) {
    const secretName = es.status?.binding?.name ?? es.metadata.name;
    const secret = await kube.get<{ data?: Record<string, string>; type?: string }>(
      resourceTypes.secret,
      namespace,
      secretName,
    );
    say(
      `Secret ${secretName} (${secret?.type}): ${Object.keys(secret?.data ?? {})
        .sort()
        .join(", ")}`,
    );
  }
  say("\n── health ──");
  for (const obj of objects) {
    const type = kinds[obj.kind] as ResourceType;
    const live = await kube.get<Parameters<typeof health>[0]>(type, namespace, obj.metadata.name);
    const text =
      obj.kind === "Deployment"
        ? "Applied (no kubelet in the demo cluster: pods do not start)"
        : live
          ? health(live)
          : "missing";
    say(`${obj.kind}/${obj.metadata.name}: ${text}`);
  }
  const text = await metrics.registry.metrics();
  const reads = text
    .split("\n")
    .filter((l) => l.startsWith("refsync_cache_misses_total{"))
    .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
  say(`\nbackend reads: ${reads} (one per distinct secret, shared by every reference to it)`);
  if (serve) {
    say(`\ndashboard: ${server.url}/?namespace=${namespace}   (JSON: ${server.url}/api/v1/overview)`);
    say(
      `\nserving; try: KUBECONFIG=${cluster.kubeconfigPath} kubectl get rses,rsss -n ${namespace}   (Ctrl-C stops)`,
    );
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
  }
} catch (err) {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  exitCode = 1;
} finally {
  await controller?.stop();
  await server?.close();
  kube.close();
  await cluster.stop();
}
process.exit(exitCode);
