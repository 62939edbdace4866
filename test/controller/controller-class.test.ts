/**
 * spec.controller on a real API server: a controller started with a class serves the stores of
 * that class (and unclassed ones) and leaves another class's store and its ExternalSecrets alone:
 * no status, no Secret; once the store names its class, it takes them on. A generator's
 * spec.controller (ESO's shouldSkipGenerator) does the same for the ExternalSecrets that use it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import { generatorTypes, resourceTypes } from "../../src/kube/resources.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getExternalSecret,
  getSecret,
  useControllerSuite,
  waitFor,
  waitForCondition,
} from "./harness.ts";

const data = [{ key: "db", value: "s3cr3t" }];
const read = { data: [{ secretKey: "password", remoteRef: { key: "db" } }] };
const events = { webhook: { secretRef: { name: "hook", key: "secret" } } };

void describe("controller class (spec.controller)", () => {
  const suite = useControllerSuite("class", { controllerClass: "blue" });

  void test("another class's store and ExternalSecret get no status until the store names ours", async () => {
    const { ctl, ns } = suite;
    // The other class's objects first: the queue reaches them before ours.
    await applyObject(ctl.kube, fakeStore(ns, "green", data, { controller: "green", events }));
    await applyObject(
      ctl.kube,
      externalSecret(ns, "from-green", { secretStoreRef: { name: "green" }, ...read }),
    );
    await applyObject(ctl.kube, fakeStore(ns, "blue", data, { controller: "blue", events }));
    await applyObject(ctl.kube, fakeStore(ns, "any", data));
    await applyObject(
      ctl.kube,
      externalSecret(ns, "from-blue", { secretStoreRef: { name: "blue" }, ...read }),
    );
    await applyObject(ctl.kube, externalSecret(ns, "from-any", { secretStoreRef: { name: "any" }, ...read }));
    await waitForCondition(ctl.kube, ns, "from-blue", "Ready", "True");
    await waitForCondition(ctl.kube, ns, "from-any", "Ready", "True");

    const green = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, "green");
    assert.equal(green?.status, undefined);
    assert.equal((await getExternalSecret(ctl.kube, ns, "from-green"))?.status, undefined);
    assert.equal(await getSecret(ctl.kube, ns, "from-green"), undefined);
    // Its event sources are the other controller's too: none run here.
    const ref = (name: string) => fakeStore(ns, name, data);
    assert.ok(ctl.controller.events.condition(ref("blue")));
    assert.equal(ctl.controller.events.condition(ref("green")), undefined);
    // Nor do its metrics and dashboard rows (no refsync_store_ready 0 to alert on).
    const view = ctl.controller.metrics.view;
    // The controller watches every namespace: other suites' objects share the view.
    const names = (objects: readonly { metadata: { name: string; namespace?: string } }[] = []) =>
      objects
        .filter((o) => o.metadata.namespace === ns)
        .map((o) => o.metadata.name)
        .sort();
    assert.deepEqual(names(view?.stores()), ["any", "blue"]);
    assert.deepEqual(names(view?.externalSecrets()), ["from-any", "from-blue"]);

    await ctl.kube.mergePatch(resourceTypes.secretStore, ns, "green", { spec: { controller: "blue" } });
    await waitForCondition(ctl.kube, ns, "from-green", "Ready", "True");
    assert.equal((await getSecret(ctl.kube, ns, "from-green"))?.data.password, "s3cr3t");
    assert.ok(ctl.controller.events.condition(ref("green")));
    await waitFor(
      async () =>
        (await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, "green"))?.status?.conditions?.some(
          (c) => c.type === "Ready" && c.status === "True",
        ) || undefined,
      "store green Ready",
    );
  });

  void test("an ExternalSecret whose generator names another class is left alone; ours syncs", async () => {
    const { ctl, ns } = suite;
    const GENERATORS = "generators.refsync.dev/v1alpha1";
    const apply = (kind: "Fake" | "ClusterGenerator", name: string, spec: unknown) => {
      const type = generatorTypes[kind];
      assert.ok(type);
      return ctl.kube.apply(
        type,
        { apiVersion: GENERATORS, kind, metadata: { name, ...(type.namespaced && { namespace: ns }) }, spec },
        { fieldManager: "test", force: true },
      );
    };
    const generated = (name: string, kind: string, generator: string) =>
      externalSecret(ns, name, {
        dataFrom: [{ sourceRef: { generatorRef: { apiVersion: GENERATORS, kind, name: generator } } }],
      } as ExternalSecret["spec"]);
    const fake = (controller: string) => ({ controller, data: { token: `from-${controller}` } });
    const clusterGen = `${ns}-green`;
    // The other class's objects first: the queue reaches them before ours.
    await apply("Fake", "green", fake("green"));
    await apply("ClusterGenerator", clusterGen, { kind: "Fake", generator: { fakeSpec: fake("green") } });
    await applyObject(ctl.kube, generated("gen-green", "Fake", "green"));
    await applyObject(ctl.kube, generated("cluster-gen-green", "ClusterGenerator", clusterGen));
    await apply("Fake", "blue", fake("blue"));
    await applyObject(ctl.kube, generated("gen-blue", "Fake", "blue"));
    try {
      await waitForCondition(ctl.kube, ns, "gen-blue", "Ready", "True");
      assert.equal((await getSecret(ctl.kube, ns, "gen-blue"))?.data.token, "from-blue");
      for (const name of ["gen-green", "cluster-gen-green"]) {
        assert.equal((await getExternalSecret(ctl.kube, ns, name))?.status, undefined, name);
        assert.equal(await getSecret(ctl.kube, ns, name), undefined, name);
      }
      const inNs = (ctl.controller.metrics.view?.externalSecrets() ?? []).filter(
        (es) => es.metadata.namespace === ns,
      );
      assert.ok(inNs.some((es) => es.metadata.name === "gen-blue"));
      assert.ok(!inNs.some((es) => es.metadata.name.includes("gen-green")));

      // Once the generator names ours, the next reconcile (here: a change to the ExternalSecret) syncs it.
      await apply("Fake", "green", fake("blue"));
      await ctl.kube.mergePatch(resourceTypes.externalSecret, ns, "gen-green", {
        metadata: { annotations: { touched: "1" } },
      });
      await waitForCondition(ctl.kube, ns, "gen-green", "Ready", "True");
      assert.equal((await getSecret(ctl.kube, ns, "gen-green"))?.data.token, "from-blue");
      assert.equal((await getExternalSecret(ctl.kube, ns, "cluster-gen-green"))?.status, undefined);
    } finally {
      await ctl.kube.delete(generatorTypes.ClusterGenerator as never, undefined, clusterGen);
    }
  });
});
