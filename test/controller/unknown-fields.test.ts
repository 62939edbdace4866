/**
 * Unknown fields on a real API server (v1.20, no server-side field
 * validation): the CRDs keep them instead of pruning them, so the controller
 * sees a typo and refuses the object (Ready=False, InvalidSpec naming the
 * field) instead of acting on what is left of it, e.g. writing the whole
 * secret where `remoteRef.proprety` meant one property of it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

const VALUE = "unknown-fields-value";

void describe("unknown fields", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("unknown-fields");
    ctl = await startTestController(cluster, { namespace: ns });
    await applyObject(ctl.kube, fakeStore(ns, "demo", [{ key: "db", valueMap: { password: VALUE } }]));
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
  });

  void test("an ExternalSecret's remoteRef.proprety reaches the controller and is InvalidSpec naming it", async () => {
    const es = externalSecret(ns, "typo", {
      secretStoreRef: { name: "demo" },
      data: [{ secretKey: "password", remoteRef: { key: "db", proprety: "password" } as never }],
    });
    await applyObject(ctl.kube, es);
    const stored = await ctl.kube.get<ExternalSecret>(resourceTypes.externalSecret, ns, "typo");
    assert.equal((stored?.spec.data?.[0]?.remoteRef as { proprety?: string }).proprety, "password");
    const failed = await waitForCondition(ctl.kube, ns, "typo", "Ready", "False", "InvalidSpec");
    assert.match(
      failed.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "",
      /spec\.data\[0\]\.remoteRef\.proprety: unknown field/,
    );
    assert.equal(await getSecret(ctl.kube, ns, "typo"), undefined, "no Secret from a spec with a typo");
  });

  void test("a store's fake.dat and top-level rateLimt are InvalidSpec naming them", async () => {
    for (const [name, spec, field] of [
      ["fake-typo", { provider: { fake: { dat: [] } } }, /spec\.provider\.fake\.dat: unknown field/],
      [
        "top-typo",
        { provider: { fake: { data: [] } }, rateLimt: { qps: 1 } },
        /spec\.rateLimt: unknown field/,
      ],
    ] as const) {
      await applyObject(ctl.kube, {
        apiVersion: "refsync.dev/v1alpha1",
        kind: "SecretStore",
        metadata: { name, namespace: ns },
        spec: spec as unknown as SecretStore["spec"],
      } satisfies SecretStore);
      const ready = await waitFor(async () => {
        const store = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, name);
        const condition = store?.status?.conditions?.find((c) => c.type === "Ready");
        return condition?.reason === "InvalidSpec" ? condition : undefined;
      }, `SecretStore ${name} InvalidSpec`);
      assert.equal(ready.status, "False");
      assert.match(ready.message, field);
    }
  });
});
