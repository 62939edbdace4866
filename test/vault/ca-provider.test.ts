// A Vault served over HTTPS, trusted through a caProvider ConfigMap: a SecretStore reads it from its own
// namespace, a ClusterSecretStore from the namespace it names. A missing ConfigMap or key, another
// namespace, or a ClusterSecretStore without caProvider.namespace leaves the store unable to connect,
// and the message names the store and the field (never falling back to an unverified connection).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { createPki } from "../cluster/pki.ts";
import { applyObject, deleteObject, getSecret, waitFor, waitForCondition } from "../controller/harness.ts";
import {
  applyKubernetesAuthStore,
  grantNamespace,
  kubernetesAuthSpec,
  propertyExternalSecret,
  startNamespaceSuite,
  useSuite,
  waitForStoreCondition,
} from "./setup.ts";

const caProvider = (extra: Record<string, string> = {}) => ({
  caProvider: { type: "ConfigMap", name: "vault-ca", key: "ca.crt", ...extra },
});

void describe("Vault over TLS with caProvider type ConfigMap", () => {
  let dir: string;
  let caPem: string;
  let cluster: SecretStore | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "refsync-vault-ca-"));
  });
  // Registered before the suite's own after hook, so it runs first: the ClusterSecretStores outlive the namespace.
  after(async () => {
    const name = cluster?.metadata.name;
    for (const n of name ? [name, `${name}-unnamed`] : [])
      await deleteObject(suite.ctl.kube, { kind: "ClusterSecretStore", metadata: { name: n } }).catch(
        () => undefined,
      );
    await rm(dir, { recursive: true, force: true });
  });
  const suite = useSuite(
    async () => {
      const pki = await createPki(dir);
      caPem = await readFile(pki.caCertPath, "utf8");
      const tls = {
        cert: await readFile(pki.servingCertPath, "utf8"),
        key: await readFile(pki.servingKeyPath, "utf8"),
      };
      return startNamespaceSuite("vault-ca", { tls });
    },
    async ({ vault, ns, ctl }) => {
      grantNamespace(vault, ns);
      vault.root.putSecret("secret", `${ns}/db`, { password: "over-tls-configmap" });
      await ctl.kube.apply(
        resourceTypes.configMap,
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "vault-ca", namespace: ns },
          data: { "ca.crt": caPem },
        },
        { fieldManager: "test", force: true },
      );
      cluster = {
        apiVersion: "refsync.dev/v1alpha1",
        kind: "ClusterSecretStore",
        metadata: { name: `vault-ca-${ns}` },
        spec: {
          provider: { vault: kubernetesAuthSpec(vault.url, ns, "app", caProvider({ namespace: ns })) },
        },
      };
    },
  );

  void it("a SecretStore trusts Vault through a ConfigMap of its own namespace", async () => {
    const { ctl, vault, ns } = suite;
    await applyKubernetesAuthStore(ctl.kube, vault, ns, { spec: caProvider() });
    await waitForStoreCondition(ctl.kube, ns, "vault", "Ready", "True");
    await applyObject(ctl.kube, propertyExternalSecret(ns, "db", { name: "vault" }, `${ns}/db`, "password"));
    await waitForCondition(ctl.kube, ns, "db", "Ready", "True", "SecretSynced");
    assert.deepEqual((await getSecret(ctl.kube, ns, "db"))?.data, { password: "over-tls-configmap" });
  });

  void it("a ClusterSecretStore trusts Vault through the ConfigMap of the namespace it names", async () => {
    const { ctl, ns } = suite;
    assert.ok(cluster);
    await applyObject(ctl.kube, cluster);
    const ref = { name: cluster.metadata.name, kind: "ClusterSecretStore" as const };
    await applyObject(ctl.kube, propertyExternalSecret(ns, "db-cluster", ref, `${ns}/db`, "password"));
    await waitForCondition(ctl.kube, ns, "db-cluster", "Ready", "True", "SecretSynced");
    assert.deepEqual((await getSecret(ctl.kube, ns, "db-cluster"))?.data, { password: "over-tls-configmap" });
  });

  void it("a missing ConfigMap, key or namespace is an error that names the store and the field", async () => {
    const { ctl, vault, ns } = suite;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["no-ca", {}, /Vault's TLS certificate is not trusted .*set caBundle or caProvider/],
      [
        "missing-configmap",
        caProvider({ name: "nope" }),
        new RegExp(`SecretStore/${ns}/missing-configmap: caProvider: ConfigMap ${ns}/nope not found`),
      ],
      [
        "missing-key",
        caProvider({ key: "nope.crt" }),
        new RegExp(
          `SecretStore/${ns}/missing-key: caProvider: ConfigMap ${ns}/vault-ca has no key "nope.crt"`,
        ),
      ],
      [
        "other-namespace",
        caProvider({ namespace: "kube-system" }),
        new RegExp(
          `SecretStore/${ns}/other-namespace: caProvider may not name namespace "kube-system" \\(a SecretStore reaches only its own\\)`,
        ),
      ],
    ];
    for (const [name, spec] of cases) await applyKubernetesAuthStore(ctl.kube, vault, ns, { name, spec });
    for (const [name, , message] of cases) {
      const condition = await waitForStoreCondition(ctl.kube, ns, name, "Ready", "False");
      assert.match(condition.message ?? "", message, name);
    }

    // A ClusterSecretStore must say where its CA is: not in the namespace of whichever ExternalSecret uses it.
    assert.ok(cluster);
    const unnamed: SecretStore = {
      ...cluster,
      metadata: { name: `${cluster.metadata.name}-unnamed` },
      spec: { provider: { vault: kubernetesAuthSpec(vault.url, ns, "app", caProvider()) } },
    };
    await applyObject(ctl.kube, unnamed);
    const stored = await waitFor(
      () => ctl.kube.get<SecretStore>(resourceTypes.clusterSecretStore, undefined, unnamed.metadata.name),
      "ClusterSecretStore",
    );
    const required = new RegExp(
      `ClusterSecretStore/${unnamed.metadata.name}: caProvider.namespace is required for a ClusterSecretStore`,
    );
    const validation = await ctl.controller.sessions.session(stored).validate();
    assert.equal(validation.status, "Error");
    assert.match(validation.message ?? "", required);
    const ref = { name: unnamed.metadata.name, kind: "ClusterSecretStore" as const };
    await applyObject(ctl.kube, propertyExternalSecret(ns, "db-unnamed", ref, `${ns}/db`, "password"));
    const es = await waitForCondition(ctl.kube, ns, "db-unnamed", "Ready", "False");
    assert.match(es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", required);
    assert.equal(await getSecret(ctl.kube, ns, "db-unnamed"), undefined);
  });
});
