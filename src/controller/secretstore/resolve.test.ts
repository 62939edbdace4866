import assert from "node:assert/strict";
import test from "node:test";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { resolveStore, type StoreLookup } from "./resolve.ts";

const store = (
  kind: SecretStore["kind"],
  name: string,
  spec: Partial<SecretStore["spec"]> = {},
): SecretStore => ({
  apiVersion: "refsync.dev/v1alpha1",
  kind,
  metadata: kind === "SecretStore" ? { name, namespace: "team-a" } : { name },
  spec: { provider: { fake: {} }, ...spec },
});

const lookup = (stores: SecretStore[]): StoreLookup => ({
  secretStore: (ns, name) =>
    stores.find((s) => s.kind === "SecretStore" && s.metadata.namespace === ns && s.metadata.name === name),
  clusterSecretStore: (name) =>
    stores.find((s) => s.kind === "ClusterSecretStore" && s.metadata.name === name),
  namespaceLabels: () => Promise.resolve({ team: "a" }),
});

void test("a ClusterSecretStore named without kind: the error says it exists and how to use it", async () => {
  await assert.rejects(
    resolveStore({ name: "shared" }, "team-a", lookup([store("ClusterSecretStore", "shared")])),
    {
      name: "StoreNotReadyError",
      message:
        'SecretStore "shared" not found in namespace "team-a"; a ClusterSecretStore "shared" exists: ' +
        "to use it, set secretStoreRef.kind: ClusterSecretStore",
    },
  );
  const bySelector = store("ClusterSecretStore", "shared", {
    conditions: [{ namespaceSelector: { matchLabels: { team: "a" } } }],
  });
  await assert.rejects(
    resolveStore({ name: "shared" }, "team-a", lookup([bySelector])),
    /kind: ClusterSecretStore/,
  );
});

void test("no hint about a ClusterSecretStore that does not serve the namespace, nor when none exists", async () => {
  const other = store("ClusterSecretStore", "shared", { conditions: [{ namespaces: ["team-b"] }] });
  await assert.rejects(resolveStore({ name: "shared" }, "team-a", lookup([other])), {
    message: 'SecretStore "shared" not found in namespace "team-a"',
  });
  await assert.rejects(resolveStore({ name: "shared" }, "team-a", lookup([])), {
    message: 'SecretStore "shared" not found in namespace "team-a"',
  });
});

void test("kind: ClusterSecretStore naming a SecretStore of the namespace says so", async () => {
  await assert.rejects(
    resolveStore(
      { name: "vault", kind: "ClusterSecretStore" },
      "team-a",
      lookup([store("SecretStore", "vault")]),
    ),
    /^StoreNotReadyError: ClusterSecretStore "vault" not found; a SecretStore "vault" exists in namespace "team-a"/,
  );
});
