/**
 * Rollout tests: a controller with the rollout work wired in, a fake store
 * the test rotates, and workloads and pods created directly (no kubelet).
 */
import { ANNOTATION_RESTARTED_FOR, type ExternalSecretSpec } from "../../src/api/v1alpha1.ts";
import { KubeClient, type KubeObject } from "../../src/kube/client.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { Rollouts, type RolloutOptions } from "../../src/controller/rollout/rollouts.ts";
import type { PodSpec } from "../../src/controller/rollout/consumers.ts";
import {
  podType,
  workloadTypes,
  type Workload,
  type WorkloadKind,
} from "../../src/controller/rollout/workloads.ts";
import type { Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";

export interface RolloutEnv {
  ns: string;
  ctl: TestController;
  rollouts: Rollouts;
  kube: KubeClient;
  /** Stops the controller (pending restarts in memory are lost) and starts a new one. */
  failover(): Promise<void>;
  /** Puts new values into the store and waits until the Secret carries them. */
  rotate(values: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** A namespace, a fake store with `values`, ExternalSecret `db` (one data entry per key) and a controller. */
export async function rolloutEnv(
  cluster: Cluster,
  prefix: string,
  values: Record<string, string>,
  options: RolloutOptions,
  rollout?: ExternalSecretSpec["rollout"],
): Promise<RolloutEnv> {
  const ns = await cluster.createNamespace(prefix);
  const start = async () => {
    const rollouts = new Rollouts({ tickMs: 100, reportIntervalMs: 500, ...options, namespace: ns });
    const ctl = await startTestController(cluster, {
      namespace: ns,
      hooks: [rollouts.hook],
      leaderLoops: [rollouts.loop],
      consumers: rollouts,
    });
    return { ctl, rollouts };
  };
  let { ctl, rollouts } = await start();
  const kube = await KubeClient.fromKubeConfig(cluster.kc);
  const store = (v: Record<string, string>) =>
    fakeStore(
      ns,
      "demo",
      Object.entries(v).map(([key, value]) => ({ key, value })),
    );
  await applyObject(kube, store(values));
  await applyObject(
    kube,
    externalSecret(ns, "db", {
      secretStoreRef: { name: "demo" },
      refreshPolicy: "OnChange",
      data: Object.keys(values).map((k) => ({ secretKey: k, remoteRef: { key: k } })),
      rollout,
    }),
  );
  await waitForCondition(kube, ns, "db", "Ready", "True");
  let current = { ...values };
  let token = 0;
  return {
    ns,
    get ctl() {
      return ctl;
    },
    get rollouts() {
      return rollouts;
    },
    kube,
    async failover() {
      await ctl.stop();
      ({ ctl, rollouts } = await start());
    },
    async rotate(next) {
      current = { ...current, ...next };
      const applied = await applyObject(kube, store(current));
      // The controller must see the new store before the force-sync asks it to read.
      await waitFor(
        () =>
          ctl.controller.secretStores.get(`${ns}/demo`)?.metadata.generation === applied.metadata.generation
            ? true
            : undefined,
        "store in the controller's cache",
      );
      await kube.mergePatch(resourceTypes.externalSecret, ns, "db", {
        metadata: { annotations: { "refsync.dev/force-sync": `rotate-${++token}` } },
      });
      await waitFor(
        async () => {
          const s = await getSecret(kube, ns, "db");
          return Object.entries(next).every(([k, v]) => s?.data[k] === v) ? true : undefined;
        },
        "rotated Secret",
        60_000,
      ); // a loaded 2-core machine can take over 30 s here
    },
    async stop() {
      await ctl.stop();
      kube.close();
    },
  };
}

const template = (app: string, spec: PodSpec) => ({
  metadata: { labels: { app } },
  spec: {
    ...spec,
    containers: (spec.containers ?? [{}]).map((c, i) => ({ name: `c${i}`, image: "app:1", ...c })),
  },
});

/**
 * Waits until the controller has counted `n` successful restarts of `kind` in the env's namespace and
 * returns the metrics text. It counts a restart once its patch has answered, so the patch can be seen first.
 */
export function waitForRestartsCounted(env: RolloutEnv, kind: WorkloadKind, n: number): Promise<string> {
  const counted = new RegExp(
    `refsync_rollouts_total\\{namespace="${env.ns}",kind="${kind}",result="success"\\} ${n}\n`,
  );
  return waitFor(async () => {
    const text = await env.ctl.controller.metrics.registry.metrics();
    return counted.test(text) ? text : undefined;
  }, `${n} ${kind} restarts counted`);
}

/** A workload of `kind` whose pods use `spec`; `reload` labels it `refsync.dev/reload: "true"`. */
export function workload(
  kind: WorkloadKind,
  ns: string,
  name: string,
  spec: PodSpec,
  reload = true,
): KubeObject {
  const t = workloadTypes[kind];
  const selector = { matchLabels: { app: name } };
  const body: Record<string, unknown> = { selector, template: template(name, spec) };
  if (kind === "StatefulSet") body.serviceName = name;
  return {
    apiVersion: `${t.group}/${t.version}`,
    kind,
    metadata: { name, namespace: ns, labels: reload ? { "refsync.dev/reload": "true" } : {} },
    spec: body,
  } as KubeObject;
}

export async function create(kube: KubeClient, obj: KubeObject): Promise<Workload> {
  return kube.create<Workload>(workloadTypes[obj.kind as WorkloadKind], obj);
}

export async function getWorkload(
  kube: KubeClient,
  kind: WorkloadKind,
  ns: string,
  name: string,
): Promise<Workload> {
  const w = await kube.get<Workload>(workloadTypes[kind], ns, name);
  if (!w) throw new Error(`${kind} ${ns}/${name} is gone`);
  return w;
}

export function restartedFor(w: Workload): string | undefined {
  return w.spec?.template?.metadata?.annotations?.[ANNOTATION_RESTARTED_FOR];
}

/** Pretends the workload's controller finished rolling it out (no kube-controller-manager runs). */
export async function markRolledOut(kube: KubeClient, ns: string, name: string): Promise<void> {
  const w = await getWorkload(kube, "Deployment", ns, name);
  const n = w.spec?.replicas ?? 1;
  await kube.mergePatch(
    workloadTypes.Deployment,
    ns,
    name,
    {
      status: {
        observedGeneration: w.metadata.generation,
        replicas: n,
        updatedReplicas: n,
        readyReplicas: n,
        availableReplicas: n,
        conditions: [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }],
      },
    },
    { subresource: "status" },
  );
}

/** A Running pod (as a kubelet would report it) that uses `spec`, owned like a Deployment's pod when `deployment` is given. */
export async function runningPod(
  kube: KubeClient,
  ns: string,
  name: string,
  spec: PodSpec,
  deployment?: string,
): Promise<void> {
  const hash = "5f7c9d";
  const created = await kube.create<{ metadata: { creationTimestamp: string } }>(podType, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      labels: deployment ? { app: deployment, "pod-template-hash": hash } : {},
      ownerReferences: deployment
        ? [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: `${deployment}-${hash}`,
              uid: "00000000-0000-0000-0000-000000000001",
              controller: true,
            },
          ]
        : undefined,
    },
    spec: template(name, spec).spec,
  } as KubeObject);
  await kube.mergePatch(
    podType,
    ns,
    name,
    { status: { phase: "Running", startTime: created.metadata.creationTimestamp } },
    { subresource: "status" },
  );
}

export const envKey = (key: string): PodSpec => ({
  containers: [{ env: [{ name: key.toUpperCase(), valueFrom: { secretKeyRef: { name: "db", key } } }] }],
});

/** Every event's reason and message in the namespace, for the object named `name` (any kind) or all. */
export async function events(
  kube: KubeClient,
  ns: string,
  name?: string,
): Promise<{ reason: string; message: string; kind: string }[]> {
  const { items } = await kube.list<{
    reason: string;
    message: string;
    involvedObject: { name: string; kind: string };
  }>(resourceTypes.event, { namespace: ns });
  return items
    .filter((e) => name === undefined || e.involvedObject.name === name)
    .map((e) => ({ reason: e.reason, message: e.message, kind: e.involvedObject.kind }));
}

export async function installRolloutCrd(kube: KubeClient): Promise<void> {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "rollouts.argoproj.io" },
    spec: {
      group: "argoproj.io",
      scope: "Namespaced",
      names: { kind: "Rollout", plural: "rollouts", singular: "rollout", listKind: "RolloutList" },
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  };
  await kube.request(
    "PATCH",
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
    {
      body: crd,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager: "refsync-rollout-test", force: true },
    },
  );
  await waitFor(async () => {
    try {
      await kube.request("GET", "/apis/argoproj.io/v1alpha1/rollouts");
      return true;
    } catch {
      return undefined;
    }
  }, "Rollout CRD served");
}
