/**
 * Per-entry stores (ESO's sourceRef.storeRef) on a real API server: one
 * ExternalSecret, written as ESO manifests are and converted as the plugin
 * converts it, reads one key from its default fake SecretStore, one from a
 * Vault SecretStore (the Vault protocol test server, Kubernetes auth) and a
 * whole secret from a ClusterSecretStore. A store the namespace may not use,
 * or one that is not ready, fails the sync naming the entry and leaves the
 * Secret as it was; the store becoming ready syncs it without a spec change.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { convertEsoObject } from "../../src/api/eso.ts";
import type { ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import {
  applyKubernetesAuthStore,
  grantNamespace,
  kubernetesRole,
  startNamespaceSuite,
  useSuite,
  waitForStoreCondition,
} from "../vault/setup.ts";
import {
  applyObject,
  deleteObject,
  fakeStore,
  getExternalSecret,
  getSecret,
  waitFor,
  waitForCondition,
  waitForEvent,
} from "./harness.ts";

const PASSWORD = "vault-Pa55-sourceref-7c1e";

function clusterStore(
  name: string,
  namespaces: string[],
  data: { key: string; value: string }[],
): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ClusterSecretStore",
    metadata: { name },
    spec: { provider: { fake: { data } }, conditions: [{ namespaces }] },
  };
}

/** ESO's shape (docs/snippets/full-external-secret.yaml, rsadecrypt-template-v2): keys from several stores. */
function esoManifest(ns: string, extra = ""): string {
  return `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: app
  namespace: ${ns}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: fake
  dataFrom:
    - extract:
        key: shared/settings
      sourceRef:
        storeRef:
          name: shared-${ns}
          kind: ClusterSecretStore
  data:
    - secretKey: api
      remoteRef:
        key: /app/api
    - secretKey: password
      remoteRef:
        key: ${ns}/db
        property: password
      sourceRef:
        storeRef:
          name: vault
          kind: SecretStore
${extra}`;
}

function converted(yaml: string): ExternalSecret {
  const result = convertEsoObject(parse(yaml) as Record<string, unknown>);
  assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
  return result.object as unknown as ExternalSecret;
}

void describe("per-entry stores (sourceRef.storeRef)", () => {
  const cleanup: SecretStore[] = [];
  // Registered before the suite's own after hook, so the cluster-wide objects go before the cluster stops.
  after(async () => {
    for (const store of cleanup) await deleteObject(suite.ctl.kube, store).catch(() => undefined);
  });
  const suite = useSuite(
    () => startNamespaceSuite("source-stores"),
    async ({ vault, ns, ctl }) => {
      grantNamespace(vault, ns);
      vault.root.putSecret("secret", `${ns}/db`, { password: PASSWORD });
      await applyKubernetesAuthStore(ctl.kube, vault, ns);
      // Not ready: Vault has no such role, so its login (the store's validation) is refused.
      await applyKubernetesAuthStore(ctl.kube, vault, ns, { name: "broken", role: "no-such-role" });
      await applyObject(ctl.kube, fakeStore(ns, "fake", [{ key: "/app/api", value: "api-key-1" }]));
      const shared = clusterStore(
        `shared-${ns}`,
        [ns],
        [{ key: "shared/settings", value: '{"region":"eu-west-1","tier":"gold"}' }],
      );
      const closed = clusterStore(`closed-${ns}`, ["someone-else"], [{ key: "other", value: "x" }]);
      cleanup.push(shared, closed);
      await applyObject(ctl.kube, shared);
      await applyObject(ctl.kube, closed);
    },
  );

  async function expectSecretKept(ns: string): Promise<void> {
    const secret = await getSecret(suite.ctl.kube, ns, "app");
    assert.deepEqual(secret?.data, {
      api: "api-key-1",
      password: PASSWORD,
      region: "eu-west-1",
      tier: "gold",
    });
  }

  void it("reads each entry from its own store: SecretStore, Vault SecretStore, ClusterSecretStore", async () => {
    const { ctl, ns, vault } = suite;
    await applyObject(ctl.kube, converted(esoManifest(ns)));
    await waitForCondition(ctl.kube, ns, "app", "Ready", "True", "SecretSynced");
    await expectSecretKept(ns);
    assert.equal(vault.count({ path: `secret/data/${ns}/db`, status: 200 }), 1);
    // Each store's calls are counted under its own name.
    const metrics = await ctl.controller.metrics.registry.metrics();
    for (const store of [
      `SecretStore/${ns}/vault`,
      `SecretStore/${ns}/fake`,
      `ClusterSecretStore/shared-${ns}`,
    ])
      assert.match(metrics, new RegExp(`refsync_provider_api_calls_total\\{[^}]*store="${store}"`), store);
    assert.ok(!metrics.includes(PASSWORD) && !ctl.logText().includes(PASSWORD), "a value leaked");
  });

  void it("a ClusterSecretStore that does not serve the namespace fails the sync naming the entry", async () => {
    const { ctl, ns } = suite;
    const extra = `    - secretKey: other
      remoteRef:
        key: other
      sourceRef:
        storeRef:
          name: closed-${ns}
          kind: ClusterSecretStore
`;
    await applyObject(ctl.kube, converted(esoManifest(ns, extra)));
    const es = await waitForCondition(ctl.kube, ns, "app", "Ready", "False", "AccessDenied");
    const message = es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
    assert.match(
      message,
      /^spec\.data\[2\]\.sourceRef\.storeRef: ClusterSecretStore "closed-[^"]+" does not allow namespace/,
    );
    await expectSecretKept(ns);
  });

  void it("a store that is not ready holds the sync back; once ready, the ExternalSecret syncs by itself", async () => {
    const { ctl, ns, vault } = suite;
    vault.root.putSecret("secret", `${ns}/extra`, { token: "extra-token-1" });
    await waitForStoreCondition(ctl.kube, ns, "broken", "Ready", "False");
    const extra = `    - secretKey: token
      remoteRef:
        key: ${ns}/extra
        property: token
      sourceRef:
        storeRef:
          name: broken
`;
    await applyObject(ctl.kube, converted(esoManifest(ns, extra)));
    const es = await waitForCondition(ctl.kube, ns, "app", "Ready", "False", "StoreNotReady");
    const message = es.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
    assert.match(message, /^spec\.data\[2\]\.sourceRef\.storeRef: SecretStore "broken" is not ready: /);
    await expectSecretKept(ns);
    const events = (await waitForEvent(ctl.kube, ns, "StoreNotReady", "app")).all;
    assert.ok(
      events.some((e) => e.involvedObject.name === "app" && e.reason === "StoreNotReady"),
      "no StoreNotReady event",
    );
    // The store's role now exists: its next validation turns it ready, and the ExternalSecret follows.
    const before = (await getExternalSecret(ctl.kube, ns, "app"))?.metadata.generation;
    kubernetesRole(vault, "no-such-role", ns, [{ path: `secret/data/${ns}/*`, capabilities: ["read"] }]);
    // A spec change of the store (not of the ExternalSecret) has it validated again at once.
    await applyKubernetesAuthStore(ctl.kube, vault, ns, {
      name: "broken",
      role: "no-such-role",
      spec: { version: "v2" },
    });
    await waitForStoreCondition(ctl.kube, ns, "broken", "Ready", "True");
    await waitForCondition(ctl.kube, ns, "app", "Ready", "True", "SecretSynced", 60_000);
    assert.equal((await getExternalSecret(ctl.kube, ns, "app"))?.metadata.generation, before);
    const secret = await waitFor(async () => {
      const s = await getSecret(ctl.kube, ns, "app");
      return s?.data.token ? s : undefined;
    }, "token in the Secret");
    assert.equal(secret.data.token, "extra-token-1");
    assert.equal(secret.data.password, PASSWORD);
  });
});
