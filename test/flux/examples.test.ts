/**
 * The Flux examples (examples/flux): the apps build with real Kustomize, apply to the real
 * API server, and the controller brings them to what Flux's `wait: true` counts as Current;
 * the Flux Kustomizations point at paths that exist and wait on refsync's kinds.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { repoRoot } from "../../scripts/health-files.ts";
import { kustomizeBuild } from "../argocd/kube.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { fluxHealth, type HealthCheckExprs } from "./health-exprs.ts";
import { computeKStatus } from "./kstatus.ts";

const examples = path.join(repoRoot, "examples", "flux");

interface FluxKustomization {
  metadata: { name: string };
  spec: {
    path: string;
    wait?: boolean;
    dependsOn?: { name: string }[];
    healthCheckExprs?: HealthCheckExprs[];
  };
}

void describe("Flux examples", () => {
  let cluster: Cluster;
  let ctl: TestController;
  let namespace: string;
  before(async () => {
    cluster = await startCluster({ crds: true });
    namespace = await cluster.createNamespace("flux-shop");
    ctl = await startTestController(cluster, { namespace });
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
  });

  void it("the apps, committed as ExternalSecrets, become Current for kstatus once the controller syncs them", async () => {
    const objects = (await kustomizeBuild(path.join(examples, "apps")))
      .filter((o) => o.kind !== "Namespace")
      .map((o) => ({ ...o, metadata: { ...o.metadata, name: o.metadata?.name ?? "", namespace } }));
    assert.deepEqual(objects.map((o) => o.kind).sort(), ["Deployment", "ExternalSecret", "SecretStore"]);
    for (const o of objects) {
      if (o.kind === "Deployment") {
        const api = KubernetesObjectApi.makeApiClient(cluster.kc);
        await api.patch(
          o as KubernetesObject,
          undefined,
          undefined,
          "flux-test",
          true,
          PatchStrategy.ServerSideApply,
        );
      } else await applyObject(ctl.kube, o as unknown as SecretStore | ExternalSecret);
    }
    const es = await waitFor(async () => {
      const o = await ctl.kube.get<ExternalSecret>(resourceTypes.externalSecret, namespace, "db");
      return o && computeKStatus(o).status === "Current" && o.status?.conditions?.length ? o : undefined;
    }, "the ExternalSecret to be Current");
    assert.equal(es.status?.observedGeneration, es.metadata.generation);
    const store = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, namespace, "demo");
    assert.equal(computeKStatus(store as SecretStore).status, "Current");
    const secret = await getSecret(ctl.kube, namespace, "db");
    assert.deepEqual(Object.keys(secret?.data ?? {}).sort(), ["DB_PASSWORD", "DB_USER"]);
  });

  void it("the Flux Kustomizations: refsync first, then the apps with wait: true and health expressions for refsync's kinds", async () => {
    const docs = parseAllDocuments(
      await readFile(path.join(examples, "flux-kustomizations.yaml"), "utf8"),
    ).map((d) => d.toJS() as FluxKustomization);
    const byName = new Map(docs.map((d) => [d.metadata.name, d]));
    const refsync = byName.get("refsync");
    const shop = byName.get("shop");
    assert.ok(refsync && shop);
    for (const k of [refsync, shop])
      assert.ok(existsSync(path.join(repoRoot, k.spec.path)), `${k.spec.path} exists`);
    assert.deepEqual(shop.spec.dependsOn, [{ name: "refsync" }]);
    assert.equal(shop.spec.wait, true);
    const kinds = (shop.spec.healthCheckExprs ?? []).map((h) => h.kind).sort();
    assert.deepEqual(kinds, ["ExternalSecret", "SecretStore"]);
    for (const h of shop.spec.healthCheckExprs ?? []) {
      assert.equal(h.apiVersion, "refsync.dev/v1alpha1");
      assert.match(h.current, /observedGeneration == metadata\.generation/);
      assert.match(h.current, /'Ready'/);
      assert.match(h.failed ?? "", /'Stalled'/);
    }
  });

  void it("the health expressions, evaluated in CEL: wait before the first status, Current when synced, Failed when Stalled", async () => {
    const docs = parseAllDocuments(
      await readFile(path.join(examples, "flux-kustomizations.yaml"), "utf8"),
    ).map((d) => d.toJS() as FluxKustomization);
    const exprs = docs.find((d) => d.metadata.name === "shop")?.spec.healthCheckExprs ?? [];
    const forKind = (kind: string) => exprs.find((e) => e.kind === kind) as HealthCheckExprs;
    const committed = (await kustomizeBuild(path.join(examples, "apps"))).find(
      (o) => o.kind === "ExternalSecret",
    );
    assert.equal(
      fluxHealth(forKind("ExternalSecret"), committed as Record<string, unknown>),
      "InProgress",
      "no status yet: wait",
    );

    const synced = await waitForCondition(ctl.kube, namespace, "db", "Ready", "True");
    assert.equal(
      fluxHealth(forKind("ExternalSecret"), synced as unknown as Record<string, unknown>),
      "Current",
    );
    const store = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, namespace, "demo");
    assert.equal(fluxHealth(forKind("SecretStore"), store as unknown as Record<string, unknown>), "Current");

    await applyObject(
      ctl.kube,
      externalSecret(namespace, "broken", {
        secretStoreRef: { name: "demo" },
        dataFrom: [{ find: { name: { regexp: "([" } } }],
      }),
    );
    const stalled = await waitForCondition(ctl.kube, namespace, "broken", "Stalled", "True");
    assert.equal(
      fluxHealth(forKind("ExternalSecret"), stalled as unknown as Record<string, unknown>),
      "Failed",
    );
    const changed = {
      ...synced,
      metadata: { ...synced.metadata, generation: (synced.metadata.generation ?? 1) + 1 },
    };
    assert.equal(
      fluxHealth(forKind("ExternalSecret"), changed as unknown as Record<string, unknown>),
      "InProgress",
      "a generation not yet observed",
    );
  });
});
