// Dynamic database credentials: the lease is renewed, then — when Vault caps it at its max TTL — new
// credentials are read and the Secret updated before the old ones expire; deleting the ExternalSecret
// revokes the lease — also after the controller restarted in between.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resourceTypes } from "../../src/controller/kube/client.ts";
import {
  applyObject,
  deleteObject,
  externalSecret,
  getSecret,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import {
  controllerFor,
  applyKubernetesAuthStore,
  kubernetesRole,
  startNamespaceSuite,
  useSuite,
} from "./setup.ts";

void describe("Vault dynamic secrets (database/creds)", () => {
  const suite = useSuite(
    () => startNamespaceSuite("vault-dyn"),
    async ({ vault, ns, ctl }) => {
      const root = vault.root;
      root.addDatabaseRole(ns, { ttl: 6, maxTtl: 9 });
      kubernetesRole(vault, `${ns}-db`, ns, [
        { path: `database/creds/${ns}`, capabilities: ["read"] },
        { path: "sys/leases/revoke", capabilities: ["update"] },
      ]);
      await applyKubernetesAuthStore(ctl.kube, vault, ns, {
        name: "db",
        role: `${ns}-db`,
        spec: { path: "database", version: "v1" },
      });
    },
  );

  void it("renews the lease, rotates the credentials before they expire, and revokes on delete", async () => {
    const es = externalSecret(suite.ns, "db-creds", {
      secretStoreRef: { name: "db" },
      refreshInterval: "1h",
      dataFrom: [{ extract: { key: `creds/${suite.ns}` } }],
    });
    await applyObject(suite.ctl.kube, es);
    await waitForCondition(suite.ctl.kube, suite.ns, "db-creds", "Ready", "True", "SecretSynced");
    const first = await waitFor(() => getSecret(suite.ctl.kube, suite.ns, "db-creds"), "Secret db-creds");
    const firstUser = first.data.username!;
    assert.match(firstUser, /^v-/);

    // ~4 s: renewed, but Vault caps the grant at the 9 s max TTL; so at ~2/3 of that grant (~7.3 s)
    // new credentials are read, before the old ones expire at 9 s.
    const second = await waitFor(
      async () => {
        const secret = await getSecret(suite.ctl.kube, suite.ns, "db-creds");
        return secret && secret.data.username !== firstUser ? secret : undefined;
      },
      "rotated credentials",
      15_000,
    );
    const leases = suite.vault.root.leases();
    const oldLease = leases.find((lease) => lease.data.username === firstUser)!;
    const newLease = leases.find((lease) => lease.data.username === second.data.username)!;
    assert.ok(
      suite.vault.count({ path: "sys/leases/renew", status: 200 }) >= 1,
      "the lease was renewed first",
    );
    assert.ok(
      newLease.issuedAt < oldLease.maxExpiresAt,
      `new credentials read ${oldLease.maxExpiresAt - newLease.issuedAt} ms before the old ones expired`,
    );
    assert.ok(suite.vault.root.credentialsValid(second.data.username!));
    await waitFor(
      () => (suite.vault.root.leases().find((lease) => lease.id === oldLease.id)?.revoked ? true : undefined),
      "old lease revoked",
    );
    assert.equal(
      suite.vault.count({ path: "auth/kubernetes/login", status: 200 }),
      1,
      "one login for all of it",
    );
    assert.ok(!suite.ctl.logText().includes(second.data.password!));

    await deleteAndExpectRevoked(suite.ctl, "db-creds", second.data.username!);
    assert.ok(suite.vault.count({ path: "sys/leases/revoke", status: 204 }) >= 2);
  });

  void it("a restarted controller takes the lease over: re-reads, keeps renewing, and revokes on delete", async () => {
    await applyObject(
      suite.ctl.kube,
      externalSecret(suite.ns, "restart", {
        secretStoreRef: { name: "db" },
        refreshInterval: "1h",
        dataFrom: [{ extract: { key: `creds/${suite.ns}` } }],
      }),
    );
    await waitForCondition(suite.ctl.kube, suite.ns, "restart", "Ready", "True", "SecretSynced");
    const before = await waitFor(() => getSecret(suite.ctl.kube, suite.ns, "restart"), "Secret restart");
    await suite.ctl.stop();
    const next = await controllerFor(suite, suite.ns);
    try {
      // The new controller knows no lease: it reads new credentials at once, not after the old ones expired.
      const after = await waitFor(
        async () => {
          const secret = await getSecret(next.kube, suite.ns, "restart");
          return secret && secret.data.username !== before.data.username ? secret : undefined;
        },
        "credentials re-read by the new controller",
        6_000,
      );
      assert.ok(suite.vault.root.credentialsValid(after.data.username!));
      await deleteAndExpectRevoked(next, "restart", after.data.username!);
    } finally {
      await next.stop();
    }
  });

  async function deleteAndExpectRevoked(
    controller: TestController,
    name: string,
    username: string,
  ): Promise<void> {
    await deleteObject(controller.kube, { kind: "ExternalSecret", metadata: { name, namespace: suite.ns } });
    await waitFor(
      async () =>
        (await controller.kube.get(resourceTypes.externalSecret, suite.ns, name)) === undefined &&
        !suite.vault.root.credentialsValid(username)
          ? true
          : undefined,
      `the lease of ${name} revoked when the ExternalSecret is deleted`,
    );
  }
});
