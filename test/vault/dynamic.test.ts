// Dynamic database credentials: the lease is renewed, then — when Vault caps it at its max TTL — new
// credentials are read and the Secret updated before the old ones expire; deleting the ExternalSecret
// revokes the lease. A restarted controller takes the lease over from the ExternalSecret's status
// (renews it: same credentials, no rollout); when it can no longer be renewed, or the Secret no longer
// holds its data, it reads new credentials and revokes the old lease.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExternalSecret, LeaseStatus } from "../../src/api/v1alpha1.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
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
      // For the restarts: time to restart before the max TTL, and a few renewals after.
      root.addDatabaseRole(`${ns}-long`, { ttl: 6, maxTtl: 18 });
      root.addDatabaseRole(`${ns}-other`, { ttl: 6, maxTtl: 18 });
      kubernetesRole(vault, `${ns}-db`, ns, [
        { path: `database/creds/${ns}`, capabilities: ["read"] },
        { path: `database/creds/${ns}-long`, capabilities: ["read"] },
        { path: `database/creds/${ns}-other`, capabilities: ["read"] },
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

  void it("a restarted controller renews the lease its status lists: same credentials, no new read, no rollout; then renews, rotates and revokes", async () => {
    const kube = suite.ctl.kube;
    await applyObject(kube, dynamicSecret("restart"));
    await waitForCondition(kube, suite.ns, "restart", "Ready", "True", "SecretSynced");
    const before = await waitFor(() => getSecret(kube, suite.ns, "restart"), "Secret restart");
    const [listed] = await waitFor(() => statusLeases(kube, "restart"), "the lease in the status");
    assert.ok(listed);
    assert.equal(
      serverLease(listed.id)?.data.username,
      before.data.username,
      "the status lists the Secret's lease",
    );
    assert.equal(listed.renewable, true);
    assert.equal(listed.durationSeconds, 6);
    // A renewal moves the expiry in the status too, so that a restart finds the lease alive.
    await waitFor(
      async () =>
        (await statusLeases(kube, "restart"))?.[0]?.expiresAt !== listed.expiresAt ? true : undefined,
      "the renewed expiry in the status",
      8_000,
    );
    await suite.ctl.stop();
    const restartedAt = Date.now();
    const expiredBefore = serverLease(listed.id)?.expiresAt ?? 0;
    const next = await controllerFor(suite, suite.ns);
    try {
      await waitFor(
        () => (requestsSince(restartedAt, "sys/leases/renew", 200) >= 1 ? true : undefined),
        "the lease renewed by the new controller",
        8_000,
      );
      assert.ok((serverLease(listed.id)?.expiresAt ?? 0) > expiredBefore, "that lease's expiry moved");
      const after = await getSecret(next.kube, suite.ns, "restart");
      assert.equal(after?.data.username, before.data.username, "the same credentials");
      assert.equal(after?.metadata.resourceVersion, before.metadata.resourceVersion, "the Secret untouched");
      assert.equal(
        requestsSince(restartedAt, `database/creds/${suite.ns}-long`),
        0,
        "no new credentials read",
      );

      // From then on: renewed, and at the max TTL rotated (new credentials, old lease revoked), as before.
      const rotated = await waitFor(
        async () => {
          const secret = await getSecret(next.kube, suite.ns, "restart");
          return secret && secret.data.username !== before.data.username ? secret : undefined;
        },
        "rotated credentials",
        20_000,
      );
      assert.ok(requestsSince(restartedAt, "sys/leases/renew", 200) >= 2, "renewed more than once");
      assert.equal(
        requestsSince(restartedAt, `database/creds/${suite.ns}-long`),
        1,
        "one new read, to rotate",
      );
      await waitFor(() => (serverLease(listed.id)?.revoked ? true : undefined), "the old lease revoked");
      const [current] = await waitFor(async () => {
        const leases = await statusLeases(next.kube, "restart");
        return leases?.[0]?.id !== listed.id ? leases : undefined;
      }, "the new lease in the status");
      assert.equal(serverLease(current?.id ?? "")?.data.username, rotated.data.username);
      await deleteAndExpectRevoked(next, "restart", rotated.data.username!);
    } finally {
      await next.stop();
    }
  });

  void it("leases read through two stores (sourceRef.storeRef) are taken over from each after a restart, and revoked", async () => {
    // The restart before stopped the suite's controller: this one is the first of its own.
    const first = await controllerFor(suite, suite.ns);
    const kube = first.kube;
    await applyKubernetesAuthStore(kube, suite.vault, suite.ns, {
      name: "db-b",
      role: `${suite.ns}-db`,
      spec: { path: "database", version: "v1" },
    });
    const prefixed = (prefix: string) => [{ regexp: { source: "^(.*)$", target: `${prefix}_$1` } }];
    await applyObject(
      kube,
      externalSecret(suite.ns, "two-stores", {
        secretStoreRef: { name: "db" },
        refreshInterval: "1h",
        dataFrom: [
          { extract: { key: `creds/${suite.ns}-long` }, rewrite: prefixed("a") },
          {
            extract: { key: `creds/${suite.ns}-other` },
            rewrite: prefixed("b"),
            sourceRef: { storeRef: { name: "db-b" } },
          },
        ],
      }),
    );
    await waitForCondition(kube, suite.ns, "two-stores", "Ready", "True", "SecretSynced");
    const before = await waitFor(() => getSecret(kube, suite.ns, "two-stores"), "Secret two-stores");
    const listed = await waitFor(async () => {
      const leases = await statusLeases(kube, "two-stores");
      return leases?.length === 2 ? leases : undefined;
    }, "both leases in the status");
    assert.deepEqual(listed.map((l) => l.store).sort(), [
      `SecretStore/${suite.ns}/db`,
      `SecretStore/${suite.ns}/db-b`,
    ]);
    await first.stop();
    const restartedAt = Date.now();
    const next = await controllerFor(suite, suite.ns);
    try {
      await waitFor(
        () => (requestsSince(restartedAt, "sys/leases/renew", 200) >= 2 ? true : undefined),
        "both leases renewed by the new controller",
        8_000,
      );
      for (const role of ["long", "other"])
        assert.equal(
          requestsSince(restartedAt, `database/creds/${suite.ns}-${role}`),
          0,
          `no new read (${role})`,
        );
      assert.deepEqual((await getSecret(next.kube, suite.ns, "two-stores"))?.data, before.data);
      await deleteObject(next.kube, {
        kind: "ExternalSecret",
        metadata: { name: "two-stores", namespace: suite.ns },
      });
      for (const lease of listed)
        await waitFor(
          () => (serverLease(lease.id)?.revoked ? true : undefined),
          `lease of ${lease.store} revoked`,
        );
    } finally {
      await next.stop();
    }
  });

  void it("a restart after the lease was revoked, or after the Secret was deleted: new credentials, old lease revoked", async () => {
    const first = await controllerFor(suite, suite.ns);
    const before = new Map<string, { username: string; lease: LeaseStatus }>();
    try {
      // Two roles: two leases (one role would be one cached read, one lease for both).
      for (const [name, role] of [
        ["revoked", "long"],
        ["secret-gone", "other"],
      ] as const) {
        await applyObject(first.kube, dynamicSecret(name, role));
        await waitForCondition(first.kube, suite.ns, name, "Ready", "True", "SecretSynced");
        const secret = await waitFor(() => getSecret(first.kube, suite.ns, name), `Secret ${name}`);
        const [lease] = await waitFor(
          () => statusLeases(first.kube, name),
          `the lease of ${name} in the status`,
        );
        before.set(name, { username: secret.data.username!, lease: lease! });
      }
    } finally {
      await first.stop();
    }
    const revoked = before.get("revoked")!;
    const gone = before.get("secret-gone")!;
    // While no controller runs: one lease revoked in Vault, one Secret deleted (its lease is still live).
    await revokeOnServer(revoked.lease.id);
    const admin = await KubeClient.fromKubeConfig(suite.cluster.kc);
    try {
      assert.ok(await admin.delete(resourceTypes.secret, suite.ns, "secret-gone"));
    } finally {
      admin.close();
    }
    assert.ok(suite.vault.root.credentialsValid(gone.username));
    const restartedAt = Date.now();
    const next = await controllerFor(suite, suite.ns);
    const usernames = new Map<string, string>();
    try {
      for (const [name, old] of before) {
        const fresh = await waitFor(
          async () => {
            const secret = await getSecret(next.kube, suite.ns, name);
            return secret && secret.data.username !== old.username ? secret : undefined;
          },
          `new credentials for ${name}`,
          8_000,
        );
        assert.ok(suite.vault.root.credentialsValid(fresh.data.username!));
        usernames.set(name, fresh.data.username!);
        await waitFor(async () => {
          const leases = await statusLeases(next.kube, name);
          return leases?.length === 1 && leases[0]?.id !== old.lease.id ? true : undefined;
        }, `only the new lease of ${name} in the status`);
      }
      // The revoked lease failed its renewal; the other one was not tried (its data is gone) but revoked.
      assert.equal(requestsSince(restartedAt, "sys/leases/renew", 400), 1, "one failed renewal");
      assert.equal(requestsSince(restartedAt, "sys/leases/renew", 200), 0, "no successful renewal");
      await waitFor(
        () => (suite.vault.root.credentialsValid(gone.username) ? undefined : true),
        "the replaced live lease revoked",
      );
      assert.equal(serverLease(gone.lease.id)?.revoked, true);
      for (const [name, username] of usernames) await deleteAndExpectRevoked(next, name, username);
    } finally {
      await next.stop();
    }
  });

  function dynamicSecret(name: string, role = "long"): ExternalSecret {
    return externalSecret(suite.ns, name, {
      secretStoreRef: { name: "db" },
      refreshInterval: "1h",
      dataFrom: [{ extract: { key: `creds/${suite.ns}-${role}` } }],
    });
  }

  async function statusLeases(kube: KubeClient, name: string): Promise<LeaseStatus[] | undefined> {
    const es = await kube.get<ExternalSecret>(resourceTypes.externalSecret, suite.ns, name);
    const leases = es?.status?.leases;
    return leases && leases.length > 0 ? leases : undefined;
  }

  function serverLease(id: string) {
    return suite.vault.root.leases().find((lease) => lease.id === id);
  }

  /** Requests to `path` (with `status`) the Vault server answered since `since`. */
  function requestsSince(since: number, path: string, status?: number): number {
    return suite.vault.requests.filter(
      (r) => r.time >= since && r.path === path && (status === undefined || r.status === status),
    ).length;
  }

  async function revokeOnServer(leaseId: string): Promise<void> {
    const res = await fetch(`${suite.vault.url}/v1/sys/leases/revoke`, {
      method: "PUT",
      headers: { "X-Vault-Token": suite.vault.rootToken, "Content-Type": "application/json" },
      body: JSON.stringify({ lease_id: leaseId }),
    });
    assert.equal(res.status, 204);
    assert.equal(serverLease(leaseId)?.live, false);
  }

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
