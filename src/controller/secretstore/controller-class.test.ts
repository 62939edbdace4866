import assert from "node:assert/strict";
import test from "node:test";
import type { ExternalSecret, SecretStore } from "../../api/v1alpha1.ts";
import { DEFAULT_CONTROLLER_CLASS, handlesStore, readsOtherClass } from "./controller-class.ts";

const store = (controller?: string) => ({
  spec: { provider: { fake: {} }, ...(controller !== undefined && { controller }) },
});

void test("a store with no class or an empty one is every controller's", () => {
  for (const cls of [DEFAULT_CONTROLLER_CLASS, "blue"]) {
    assert.equal(handlesStore(store(), cls), true);
    assert.equal(handlesStore(store(""), cls), true);
  }
});

void test("a store naming a class is only that controller's (ESO's ShouldProcessStore)", () => {
  assert.equal(handlesStore(store("blue"), "blue"), true);
  assert.equal(handlesStore(store("blue"), DEFAULT_CONTROLLER_CLASS), false);
  assert.equal(handlesStore(store("default"), DEFAULT_CONTROLLER_CLASS), true);
  assert.equal(handlesStore(store("default"), "blue"), false);
});

void test("an ExternalSecret is another class's when its store is; a store not found is ours to report", () => {
  const stores = {
    secretStore: (ns: string, name: string) =>
      ns === "a" && name === "green" ? (store("green") as SecretStore) : undefined,
    clusterSecretStore: (name: string) => (name === "shared" ? (store() as SecretStore) : undefined),
  };
  const es = (name: string, kind?: "ClusterSecretStore") =>
    ({ metadata: { name: "e", namespace: "a" }, spec: { secretStoreRef: { name, kind } } }) as ExternalSecret;
  assert.equal(readsOtherClass(es("green"), stores, "blue"), true);
  assert.equal(readsOtherClass(es("green"), stores, "green"), false);
  assert.equal(readsOtherClass(es("shared", "ClusterSecretStore"), stores, "blue"), false);
  assert.equal(readsOtherClass(es("missing"), stores, "blue"), false);
});
