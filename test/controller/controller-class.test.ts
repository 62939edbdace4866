/**
 * spec.controller on a real API server: a controller started with a class serves the stores of
 * that class (and unclassed ones) and leaves another class's store and its ExternalSecrets alone:
 * no status, no Secret; once the store names its class, it takes them on.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
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
});
