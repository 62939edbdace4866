import assert from "node:assert/strict";
import { test } from "node:test";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { actsPerNamespace } from "./acting-namespace.ts";

const store = (kind: SecretStore["kind"], provider: Record<string, unknown>) => ({
  kind,
  spec: { provider } as SecretStore["spec"],
});

void test("a ClusterSecretStore whose references all name a namespace reads the same for every namespace", () => {
  assert.equal(
    actsPerNamespace(store("ClusterSecretStore", { fake: { data: [{ key: "k", value: "v" }] } })),
    false,
  );
  const vault = {
    vault: {
      server: "https://vault",
      auth: { kubernetes: { role: "r", serviceAccountRef: { name: "sa", namespace: "ops" } } },
    },
  };
  assert.equal(actsPerNamespace(store("ClusterSecretStore", vault)), false);
  assert.equal(
    actsPerNamespace(store("ClusterSecretStore", { kubernetes: { remoteNamespace: "shared" } })),
    false,
  );
});

void test("a reference without a namespace, kubernetes without remoteNamespace, and AWS act per namespace", () => {
  const vault = {
    vault: {
      server: "https://vault",
      auth: { kubernetes: { role: "r", serviceAccountRef: { name: "sa" } } },
    },
  };
  assert.equal(actsPerNamespace(store("ClusterSecretStore", vault)), true);
  const nested = {
    gcpsm: { projectID: "p", auth: { secretRef: { secretAccessKeySecretRef: { name: "s", key: "k" } } } },
  };
  assert.equal(actsPerNamespace(store("ClusterSecretStore", nested)), true);
  assert.equal(actsPerNamespace(store("ClusterSecretStore", { kubernetes: {} })), true);
  assert.equal(actsPerNamespace(store("ClusterSecretStore", { aws: { region: "eu-west-1" } })), true);
});

void test("a SecretStore has one namespace, its own", () => {
  assert.equal(actsPerNamespace(store("SecretStore", { kubernetes: {} })), false);
});
