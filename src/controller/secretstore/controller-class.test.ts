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

void test("a store of another class named by any entry (sourceRef.storeRef) leaves the ExternalSecret alone, as ESO", () => {
  const stores = {
    secretStore: (_ns: string, name: string) =>
      name === "green" ? (store("green") as SecretStore) : undefined,
    clusterSecretStore: (name: string) => (name === "shared" ? (store() as SecretStore) : undefined),
  };
  const es = (storeRef: { name: string; kind?: "ClusterSecretStore" }) =>
    ({
      metadata: { name: "e", namespace: "a" },
      spec: {
        secretStoreRef: { name: "shared", kind: "ClusterSecretStore" },
        data: [{ secretKey: "k", remoteRef: { key: "k" }, sourceRef: { storeRef } }],
      },
    }) as ExternalSecret;
  assert.equal(readsOtherClass(es({ name: "green" }), stores, "blue"), true);
  assert.equal(readsOtherClass(es({ name: "shared", kind: "ClusterSecretStore" }), stores, "blue"), false);
  // Without spec.secretStoreRef at all.
  const own = {
    metadata: { name: "e", namespace: "a" },
    spec: { dataFrom: [{ extract: { key: "k" }, sourceRef: { storeRef: { name: "green" } } }] },
  };
  assert.equal(readsOtherClass(own as ExternalSecret, stores, "blue"), true);
});
