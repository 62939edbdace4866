// What the end-to-end tests of the change sources share: a controller with
// rollouts for one namespace, its events endpoint (push sources), the
// ExternalSecrets and the workload that read one key, and waiting for a
// restart and for the store's EventsReady.
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { Rollouts } from "../../src/controller/rollout/rollouts.ts";
import type { KubeClient } from "../../src/kube/client.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { createApp, listen, type RunningServer } from "../../src/server/app.ts";
import { mountEvents } from "../../src/server/events.ts";
import type { Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { create, getWorkload, restartedFor, workload } from "../rollout/harness.ts";

/** A controller watching `ns`, which restarts opted-in workloads. */
export function eventsController(cluster: Cluster, ns: string): Promise<TestController> {
  const rollouts = new Rollouts({ tickMs: 100, reportIntervalMs: 500, namespace: ns });
  return startTestController(cluster, {
    namespace: ns,
    hooks: [rollouts.hook],
    leaderLoops: [rollouts.loop],
    consumers: rollouts,
  });
}

/** The controller's events endpoint (/api/v1/events/…, what push sources receive) on a loopback port. */
export function eventsEndpoint(ctl: TestController): Promise<RunningServer> {
  const metrics = ctl.controller.metrics;
  return listen(
    createApp({
      registry: metrics.registry,
      health: { live: () => true, ready: () => true },
      mount: [mountEvents(ctl.controller.events, metrics.webhookRequests)],
    }),
    "127.0.0.1:0",
  );
}

/**
 * ExternalSecrets `by-data` (the key's property `password`) and `by-extract` (all of it), plus
 * `extra` ones, reading `key` through `store` with refreshInterval 1h, and Deployment `app` whose
 * env reads `by-data`; waits until all are Ready.
 */
export async function readersOf(
  kube: KubeClient,
  ns: string,
  store: string,
  key: string,
  extra: Record<string, string> = {},
): Promise<string[]> {
  const every = { secretStoreRef: { name: store }, refreshInterval: "1h" };
  const byData = (name: string, k: string) =>
    externalSecret(ns, name, {
      ...every,
      data: [{ secretKey: "password", remoteRef: { key: k, property: "password" } }],
    });
  const objects = [
    byData("by-data", key),
    externalSecret(ns, "by-extract", { ...every, dataFrom: [{ extract: { key } }] }),
    ...Object.entries(extra).map(([name, k]) => byData(name, k)),
  ];
  for (const object of objects) await applyObject(kube, object);
  await create(
    kube,
    workload("Deployment", ns, "app", {
      containers: [
        { env: [{ name: "P", valueFrom: { secretKeyRef: { name: "by-data", key: "password" } } }] },
      ],
    }),
  );
  const names = objects.map((o) => o.metadata.name);
  for (const name of names) await waitForCondition(kube, ns, name, "Ready", "True");
  return names;
}

/** Waits until every Secret of `names` has `password` = `want`. */
export async function everyReaderHas(
  kube: KubeClient,
  ns: string,
  names: string[],
  want: string,
): Promise<void> {
  await Promise.all(
    names.map((name) =>
      waitFor(
        async () => ((await getSecret(kube, ns, name))?.data["password"] === want ? true : undefined),
        `Secret ${name} with password ${want}`,
      ),
    ),
  );
}

/** Deployment `app`'s restart annotation now. */
export async function restartOf(kube: KubeClient, ns: string): Promise<string | undefined> {
  return restartedFor(await getWorkload(kube, "Deployment", ns, "app"));
}

/** Waits until Deployment `app` carries a restart annotation other than `before`. */
export function restartedSince(kube: KubeClient, ns: string, before: string | undefined): Promise<string> {
  return waitFor(async () => {
    const now = await restartOf(kube, ns);
    return now !== undefined && now !== before ? now : undefined;
  }, "restart annotation on Deployment app");
}

/** Waits until store `name`'s EventsReady condition has `status`; returns it. */
export function eventsReady(
  kube: KubeClient,
  ns: string,
  name: string,
  status: "True" | "False",
): Promise<{ status: string; reason: string; message: string }> {
  return waitFor(async () => {
    const store = await kube.get<SecretStore>(resourceTypes.secretStore, ns, name);
    const condition = store?.status?.conditions?.find((c) => c.type === "EventsReady");
    return condition?.status === status ? condition : undefined;
  }, `EventsReady=${status} on store ${name}`);
}
