/**
 * Runs a refsync controller in-process against the test cluster, for any
 * suite that needs ExternalSecrets reconciled (Vault, AWS, freshness,
 * rollout…).
 *
 *   const cluster = await startCluster({ crds: true });
 *   const ns = await cluster.createNamespace("vault-es");
 *   const ctl = await startTestController(cluster, { namespace: ns });
 *   await applyObject(ctl.kube, fakeStore(ns, "demo", [{ key: "db", valueMap: { password: "x" } }]));
 *   await applyObject(ctl.kube, externalSecret(ns, "db", { secretStoreRef: { name: "demo" }, data: [...] }));
 *   const es = await waitForCondition(ctl.kube, ns, "db", "Ready", "True");
 *   const secret = await getSecret(ctl.kube, ns, "db");   // decoded data
 *   ctl.logText()                                         // every JSON log line so far
 *   await ctl.stop();
 *
 * Scope each controller to the test's namespace (`namespace`), so controllers
 * of test files running side by side on the shared cluster never reconcile
 * each other's objects. Back-off and resync are short so failures retry fast.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before } from "node:test";
import type { KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type {
  ExternalSecret,
  ExternalSecretSpec,
  SecretStore,
  SecretStoreSpec,
} from "../../src/api/v1alpha1.ts";
import { RefreshPlacement } from "../../src/controller/externalsecret/placement.ts";
import { lastSlotMs, refreshIntervalMs, refreshSeed } from "../../src/controller/externalsecret/schedule.ts";
import { Controller, type ControllerOptions } from "../../src/controller/manager.ts";
import { KubeClient, type KubeObject } from "../../src/kube/client.ts";
import { resourceTypes, type ResourceType } from "../../src/kube/resources.ts";
import { createLogger } from "../../src/log.ts";
import { PROJECT_CRD_DIR, startCluster, type Cluster } from "../cluster/index.ts";

/** CustomResourceDefinitions, for suites that define their own kinds. */
export const crds: ResourceType = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

export interface TestController {
  controller: Controller;
  /** An admin REST client for the test's own reads and writes. */
  kube: KubeClient;
  /** Everything the controller logged so far (JSON lines). */
  logText(): string;
  stop(): Promise<void>;
}

export type TestControllerOptions = Partial<Omit<ControllerOptions, "kc" | "log">> & {
  /** The test's namespace; `undefined` (explicitly) watches all namespaces — then name cluster-wide objects uniquely. */
  namespace: string | undefined;
  logLevel?: "debug" | "info" | "warn";
  /** The controller's own credentials (default: the cluster's admin); the test's client stays admin. */
  controllerKc?: KubeConfig;
};

/**
 * Applies manifests/crds verbatim (raw JSON, own field manager). The cluster
 * helper's installer goes through @kubernetes/client-node's typed
 * serializer, which drops `x-kubernetes-preserve-unknown-fields`, so the API
 * server would prune every store's provider section to `{}`.
 */
export async function ensureCrds(kube: KubeClient): Promise<void> {
  const files = (await readdir(PROJECT_CRD_DIR)).filter(
    (f) => /\.ya?ml$/.test(f) && !f.startsWith("kustomization"),
  );
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(PROJECT_CRD_DIR, file), "utf8"))) {
      const crd = doc.toJS() as KubeObject;
      await kube.request(
        "PATCH",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        {
          body: crd,
          contentType: "application/apply-patch+yaml",
          query: { fieldManager: "refsync-controller-harness", force: true },
        },
      );
    }
  }
}

export async function startTestController(
  cluster: Pick<Cluster, "kc">,
  options: TestControllerOptions,
): Promise<TestController> {
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  await ensureCrds(kube);
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString("utf8"));
      // REFSYNC_TEST_LOG=1 shows the controller's log while debugging a test.
      if (process.env.REFSYNC_TEST_LOG) process.stderr.write(chunk);
      done();
    },
  });
  const { controllerKc, ...controllerOptions } = options;
  const controller = await Controller.create({
    hashKeySecret: { namespace: options.namespace ?? "default", name: "refsync-hash-key" },
    backoff: { baseMs: 100, maxMs: 2_000 },
    resyncMs: 30_000,
    ...controllerOptions,
    kc: controllerKc ?? cluster.kc,
    log: createLogger({ level: options.logLevel ?? "debug", destination }),
  });
  await controller.start();
  let stopped = false;
  return {
    controller,
    kube,
    logText: () => lines.join(""),
    async stop() {
      if (stopped) return;
      stopped = true;
      await controller.stop();
      kube.close();
    },
  };
}

export interface ControllerSuite {
  cluster: Cluster;
  ns: string;
  ctl: TestController;
}

/**
 * For the tests of a describe block (or file): before them, a cluster with refsync's CRDs, a fresh
 * namespace named after `prefix`, a controller watching only it (with `options`), then `prepare`;
 * after them, the controller and the cluster stopped. The fields are set once `before` has run.
 */
export function useControllerSuite(
  prefix: string,
  options: Omit<TestControllerOptions, "namespace"> = {},
  prepare?: (suite: ControllerSuite) => Promise<unknown>,
): ControllerSuite {
  const suite: Partial<ControllerSuite> = {};
  before(async () => {
    const cluster = (suite.cluster = await startCluster({ crds: true }));
    const ns = (suite.ns = await cluster.createNamespace(prefix));
    suite.ctl = await startTestController(cluster, { ...options, namespace: ns });
    await prepare?.(suite as ControllerSuite);
  });
  after(async () => {
    await suite.ctl?.stop();
    await suite.cluster?.stop();
  });
  return suite as ControllerSuite;
}

export interface FakeEntry {
  key: string;
  value?: string;
  valueMap?: Record<string, unknown>;
  version?: string;
  tags?: Record<string, string>;
}

export function fakeStore(
  namespace: string,
  name: string,
  data: FakeEntry[],
  extra: Partial<SecretStoreSpec> = {},
): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name, namespace },
    spec: { provider: { fake: { data } }, ...extra },
  };
}

export function externalSecret(
  namespace: string,
  name: string,
  spec: ExternalSecretSpec,
  annotations?: Record<string, string>,
): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name, namespace, annotations },
    spec,
  };
}

/**
 * Refresh slots in (from, to] of the distinct slot groups of `objects` (see
 * schedule.ts): the most periodic reads their keys can cost in that window.
 * The phases are those a controller holding exactly these keys places
 * (placement.ts): a namespaced controller's for the objects of its namespace.
 */
export function refreshSlotsBetween(objects: ExternalSecret[], from: number, to: number): number {
  const placement = placementOf(objects);
  const groups = new Map(objects.map((es) => [refreshSeed(es), refreshIntervalMs(es)]));
  let slots = 0;
  for (const [seed, interval] of groups)
    for (let at = lastSlotMs(seed, interval, to, placement.phaseOf); at > from; slots++)
      at = lastSlotMs(seed, interval, at - 1, placement.phaseOf);
  return slots;
}

/**
 * The latest refresh slot of `es` at or before `at`, placed among `objects` as
 * refreshSlotsBetween places them: the slot whose read a periodic refresh of
 * `es` at `at` takes (schedule.ts, readsSinceMs).
 */
export function refreshSlotAt(objects: ExternalSecret[], es: ExternalSecret, at: number): number {
  return lastSlotMs(refreshSeed(es), refreshIntervalMs(es), at, placementOf(objects).phaseOf);
}

function placementOf(objects: ExternalSecret[]): RefreshPlacement {
  const placement = new RefreshPlacement();
  for (const es of objects) placement.track(`${es.metadata.namespace}/${es.metadata.name}`, es);
  return placement;
}

function typeOf(obj: { kind?: string }): ResourceType {
  const t = Object.values(resourceTypes).find((r) => r.kind === obj.kind);
  if (!t) throw new Error(`harness: unknown kind ${obj.kind}`);
  return t;
}

/** Server-side apply as the test (field manager `test`), so re-applying is an update. */
export async function applyObject<T extends KubeObject>(kube: KubeClient, obj: T): Promise<T> {
  return kube.apply<T>(typeOf(obj), obj, { fieldManager: "test", force: true });
}

export async function deleteObject(
  kube: KubeClient,
  obj: { kind?: string; metadata: { name: string; namespace?: string } },
): Promise<void> {
  await kube.delete(typeOf(obj), obj.metadata.namespace, obj.metadata.name);
}

/** Polls `probe` until it returns something other than undefined. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  // The real clock: suites that mock Date must still time out.
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * How many "sync failed" lines the controller logged for ExternalSecret `namespace/name` after log
 * offset `from`. The line carries the error's text and is logged after the status write, so a check
 * that no value leaked waits for it first.
 */
export function syncFailures(
  ctl: Pick<TestController, "logText">,
  namespace: string,
  name: string,
  from = 0,
): number {
  return ctl
    .logText()
    .slice(from)
    .split("\n")
    .filter(
      (line) =>
        line.includes(`"externalSecret":"${namespace}/${name}"`) && line.includes('"msg":"sync failed"'),
    ).length;
}

export interface KubeEvent {
  reason: string;
  message: string;
  involvedObject: { name: string };
}

/**
 * Waits for an Event with `reason` in `namespace` (about object `name`, if given); returns it and all
 * the namespace's Events. Events are posted in the background (EventRecorder.record), so the state
 * they follow can be visible before them.
 */
export async function waitForEvent(
  kube: KubeClient,
  namespace: string,
  reason: string,
  name?: string,
): Promise<{ event: KubeEvent; all: KubeEvent[] }> {
  return waitFor(
    async () => {
      const all = (await kube.list<KubeEvent>(resourceTypes.event, { namespace })).items;
      const event = all.find(
        (e) => e.reason === reason && (name === undefined || e.involvedObject.name === name),
      );
      return event ? { event, all } : undefined;
    },
    `a ${reason} event${name ? ` about ${name}` : ""}`,
  );
}

export function getExternalSecret(
  kube: KubeClient,
  namespace: string,
  name: string,
): Promise<ExternalSecret | undefined> {
  return kube.get<ExternalSecret>(resourceTypes.externalSecret, namespace, name);
}

/** Waits until the ExternalSecret has condition `type` = `status` (and `reason`, if given) for its current generation. */
export function waitForCondition(
  kube: KubeClient,
  namespace: string,
  name: string,
  type: string,
  status: "True" | "False",
  reason?: string,
  timeoutMs?: number,
): Promise<ExternalSecret> {
  return waitFor(
    async () => {
      const es = await getExternalSecret(kube, namespace, name);
      const c = es?.status?.conditions?.find((x) => x.type === type);
      if (!es || !c || c.status !== status || (reason && c.reason !== reason)) return undefined;
      if (es.status?.observedGeneration !== es.metadata.generation) return undefined;
      return es;
    },
    `ExternalSecret ${namespace}/${name} ${type}=${status}${reason ? ` (${reason})` : ""}`,
    timeoutMs,
  );
}

export interface DecodedSecret {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; kind: string }[];
    resourceVersion: string;
  };
  type: string;
  data: Record<string, string>;
}

/**
 * Where a secret value must never appear, as text: the controller's log, the namespace's events,
 * its ExternalSecrets' statuses, and the metrics (for leak checks).
 */
export async function observableTexts(
  ctl: TestController,
  namespace: string,
): Promise<Record<string, string>> {
  const events = (await ctl.kube.list(resourceTypes.event, { namespace })).items;
  const externalSecrets = (await ctl.kube.list<ExternalSecret>(resourceTypes.externalSecret, { namespace }))
    .items;
  return {
    log: ctl.logText(),
    events: JSON.stringify(events),
    statuses: JSON.stringify(externalSecrets.map((e) => e.status)),
    metrics: await ctl.controller.metrics.registry.metrics(),
  };
}

/** The Secret with its data decoded to strings, or undefined. */
export async function getSecret(
  kube: KubeClient,
  namespace: string,
  name: string,
): Promise<DecodedSecret | undefined> {
  const s = await kube.get<DecodedSecret>(resourceTypes.secret, namespace, name);
  if (!s) return undefined;
  s.data = Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
  return s;
}

/** Creates a plain Secret (the Kubernetes provider's source, credentials…). */
export async function putSecret(
  kube: KubeClient,
  namespace: string,
  name: string,
  data: Record<string, string>,
  labels?: Record<string, string>,
): Promise<void> {
  await kube.apply(
    resourceTypes.secret,
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace, labels },
      stringData: data,
    },
    { fieldManager: "test", force: true },
  );
}
