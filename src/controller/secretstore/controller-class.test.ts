import assert from "node:assert/strict";
import test from "node:test";
import type { ExternalSecret, SecretStore } from "../../api/v1alpha1.ts";
import {
  DEFAULT_CONTROLLER_CLASS,
  generatorClass,
  handlesStore,
  readsOtherClass,
  type GeneratorLookup,
} from "./controller-class.ts";

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

void test("a generator's class is its spec.controller; a ClusterGenerator's, the wrapped spec's (ESO's virtual generator)", () => {
  assert.equal(generatorClass("Fake", { spec: { controller: "green", data: {} } }), "green");
  assert.equal(generatorClass("VaultDynamicSecret", { spec: { controller: "", path: "p" } }), "");
  assert.equal(generatorClass("Password", { spec: { length: 12 } }), undefined);
  assert.equal(generatorClass("UUID", {}), undefined);
  const cluster = (controller: Record<string, string>) => ({
    spec: { kind: "Fake", generator: { fakeSpec: { data: {}, ...controller } }, ...controller },
  });
  assert.equal(generatorClass("ClusterGenerator", cluster({ controller: "green" })), "green");
  // The wrapper's own spec is not read, nor a spec under another kind's key.
  assert.equal(
    generatorClass("ClusterGenerator", { spec: { kind: "Fake", controller: "green", generator: {} } }),
    undefined,
  );
  assert.equal(
    generatorClass("ClusterGenerator", {
      spec: { kind: "Password", generator: { fakeSpec: { controller: "green" } } },
    }),
    undefined,
  );
  assert.equal(generatorClass("ClusterGenerator", { spec: { kind: "Nope", generator: {} } }), undefined);
});

void test("a generator of another class leaves the ExternalSecret alone, as ESO's shouldSkipGenerator", () => {
  const stores = {
    secretStore: (_ns: string, name: string) => (name === "mine" ? (store() as SecretStore) : undefined),
    clusterSecretStore: () => undefined,
  };
  const objects: Record<string, { spec: unknown }> = {
    "Fake/green": { spec: { controller: "green", data: {} } },
    "Fake/blue": { spec: { controller: "blue", data: {} } },
    "Fake/none": { spec: { data: {} } },
    "Fake/empty": { spec: { controller: "", data: {} } },
    "ClusterGenerator/green": {
      spec: { kind: "VaultDynamicSecret", generator: { vaultDynamicSecretSpec: { controller: "green" } } },
    },
  };
  const generators: GeneratorLookup = (ref) => objects[`${ref.kind}/${ref.name}`];
  const es = (...refs: { kind: string; name: string }[]) =>
    ({
      metadata: { name: "e", namespace: "a" },
      spec: {
        secretStoreRef: { name: "mine" },
        data: [{ secretKey: "k", remoteRef: { key: "k" } }],
        dataFrom: refs.map((generatorRef) => ({ sourceRef: { generatorRef } })),
      },
    }) as ExternalSecret;
  const fake = (name: string) => ({ kind: "Fake", name });
  assert.equal(readsOtherClass(es(fake("green")), stores, "blue", generators), true);
  assert.equal(readsOtherClass(es(fake("green")), stores, "green", generators), false);
  assert.equal(readsOtherClass(es(fake("blue")), stores, "blue", generators), false);
  // No class, or an empty one: every controller's.
  assert.equal(readsOtherClass(es(fake("none"), fake("empty")), stores, "blue", generators), false);
  // Any one generator of another class is enough.
  assert.equal(readsOtherClass(es(fake("blue"), fake("green")), stores, "blue", generators), true);
  assert.equal(
    readsOtherClass(
      es({ kind: "ClusterGenerator", name: "green" }),
      stores,
      DEFAULT_CONTROLLER_CLASS,
      generators,
    ),
    true,
  );
  // A generator not found or not read is nobody's yet: ours to report.
  assert.equal(readsOtherClass(es(fake("missing")), stores, "blue", generators), false);
  assert.equal(readsOtherClass(es(fake("green")), stores, "blue"), false);
});
