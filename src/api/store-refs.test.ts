/** Which store each entry of an ExternalSecret reads from (ESO's client manager's choice). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { entryStoreRef, storelessEntries, storesNamed, storesRead } from "./store-refs.ts";
import type { ExternalSecretSpec } from "./v1alpha1.ts";

const spec: ExternalSecretSpec = {
  secretStoreRef: { name: "default" },
  data: [
    { secretKey: "a", remoteRef: { key: "a" } },
    { secretKey: "b", remoteRef: { key: "b" }, sourceRef: { storeRef: { name: "k8s" } } },
    { secretKey: "c", remoteRef: { key: "c" }, sourceRef: { storeRef: { name: "k8s" } } },
  ],
  dataFrom: [
    { extract: { key: "x" }, sourceRef: { storeRef: { name: "shared", kind: "ClusterSecretStore" } } },
  ],
};

void test("an entry's own storeRef wins over spec.secretStoreRef; kind defaults to SecretStore", () => {
  assert.deepEqual(entryStoreRef(spec, spec.data?.[0] ?? {}), { kind: "SecretStore", name: "default" });
  assert.deepEqual(entryStoreRef(spec, spec.data?.[1] ?? {}), { kind: "SecretStore", name: "k8s" });
  assert.deepEqual(
    entryStoreRef({}, { sourceRef: { storeRef: { name: "s", kind: "ClusterSecretStore" } } }),
    {
      kind: "ClusterSecretStore",
      name: "s",
    },
  );
  assert.equal(entryStoreRef({}, {}), undefined);
});

void test("the stores read: distinct, in ESO's order of reads (dataFrom, then data), with the field naming each", () => {
  assert.deepEqual(storesRead(spec), [
    { ref: { kind: "ClusterSecretStore", name: "shared" }, field: "dataFrom[0].sourceRef.storeRef" },
    { ref: { kind: "SecretStore", name: "default" }, field: "secretStoreRef" },
    { ref: { kind: "SecretStore", name: "k8s" }, field: "data[1].sourceRef.storeRef" },
  ]);
});

void test("a spec.secretStoreRef no entry uses is not read, but it is named (controller classes)", () => {
  const own: ExternalSecretSpec = {
    secretStoreRef: { name: "unused" },
    data: [{ secretKey: "a", remoteRef: { key: "a" }, sourceRef: { storeRef: { name: "k8s" } } }],
  };
  assert.deepEqual(
    storesRead(own).map((u) => u.ref.name),
    ["k8s"],
  );
  assert.deepEqual(
    storesNamed(own).map((r) => r.name),
    ["unused", "k8s"],
  );
  // Templates only: the store named is the one to check.
  assert.deepEqual(
    storesRead({ secretStoreRef: { name: "s" }, target: { template: { data: { a: "x" } } } }).map(
      (u) => u.field,
    ),
    ["secretStoreRef"],
  );
});

void test("entries with no store at all are listed by field", () => {
  assert.deepEqual(
    storelessEntries({
      data: [
        { secretKey: "a", remoteRef: { key: "a" } },
        { secretKey: "b", remoteRef: { key: "b" }, sourceRef: { storeRef: { name: "k8s" } } },
      ],
      dataFrom: [{ find: { path: "p" } }],
    }),
    ["dataFrom[0]", "data[0]"],
  );
  assert.deepEqual(storelessEntries(spec), []);
});
