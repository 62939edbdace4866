// The Vault provider against the Vault protocol test server, through the real node-vault client.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { testContext, type TestContext } from "../../../test/servers/vault/context.ts";
import {
  AccessDeniedError,
  BackendUnavailableError,
  InvalidReferenceError,
  InvalidSpecError,
  SecretNotFoundError,
  ThrottledError,
} from "../../errors.ts";
import type { ProviderClient } from "../types.ts";
import { vaultProvider } from "./index.ts";

const SECRET_ID = "approle-secret-id-7f3a";
const PASSWORD = "hunter2-value-never-logged";

let vault: VaultTestServer;
let storeCounter = 0;

function approleStore(extra: Record<string, unknown> = {}): { client: ProviderClient; context: TestContext } {
  const storeName = `SecretStore/team-a/vault-${++storeCounter}`;
  const context = testContext(storeName, "team-a", { "team-a/approle#secret-id": SECRET_ID });
  const spec = {
    server: vault.url,
    path: "secret",
    auth: { appRole: { roleId: "role-app", secretRef: { name: "approle", key: "secret-id" } } },
    ...extra,
  };
  return { client: vaultProvider.create(spec, context), context };
}

before(async () => {
  vault = await startVaultServer();
});
after(async () => {
  await vault.stop();
});

beforeEach(() => {
  const root = vault.root;
  root.mountKv("secret", 2);
  root.mountKv("kv", 1);
  root.mountDatabase("database");
  root.addDatabaseRole("app", { ttl: 30, maxTtl: 60 });
  root.writePolicy("app", [
    { path: "secret/data/team-a/*", capabilities: ["read", "create", "update"] },
    { path: "secret/metadata/team-a/*", capabilities: ["read", "list"] },
    { path: "secret/metadata/", capabilities: ["list"] },
    { path: "kv/team-a/*", capabilities: ["read", "list", "create", "update"] },
    { path: "database/creds/app", capabilities: ["read"] },
    { path: "sys/leases/revoke", capabilities: ["update"] },
  ]);
  root.enableAppRole();
  root.addAppRole("app", { roleId: "role-app", secretIds: [SECRET_ID], policies: ["app"], ttl: 60 });
  root.putSecret("secret", "team-a/db", { password: "v1-pass", user: "app" });
  root.putSecret("secret", "team-a/db", { password: PASSWORD, user: "app" });
  root.putSecret("secret", "team-b/db", { password: "b-pass" });
  root.putSecret("kv", "team-a/legacy", { token: "legacy-value" });
  vault.faults.sealed = false;
  vault.faults.throttle = false;
  vault.faults.dropConnections = false;
  vault.faults.delayMs = 0;
  vault.clearLog();
});

void describe("KV reads", () => {
  void it("reads the latest KV v2 version through /data/, and a pinned one", async () => {
    const { client } = approleStore();
    const latest = await client.read({ key: "team-a/db" });
    assert.deepEqual(latest, { data: { password: PASSWORD, user: "app" }, version: "2" });
    const pinned = await client.read({ key: "team-a/db", version: "1" });
    assert.deepEqual(pinned.data, { password: "v1-pass", user: "app" });
    assert.equal(pinned.version, "1");
    assert.equal(vault.count({ method: "GET", path: "secret/data/team-a/db" }), 2);
    await client.close();
  });

  void it("reads KV v1 without /data/ and refuses versions there", async () => {
    const { client } = approleStore({ path: "kv", version: "v1" });
    assert.deepEqual(await client.read({ key: "team-a/legacy" }), { data: { token: "legacy-value" } });
    await assert.rejects(client.read({ key: "team-a/legacy", version: "3" }), InvalidReferenceError);
    assert.equal(vault.count({ path: "kv/team-a/legacy" }), 1);
    await client.close();
  });

  void it("takes the mount from the key when the store sets no path", async () => {
    const { client } = approleStore({ path: undefined });
    assert.equal((await client.read({ key: "secret/team-a/db" })).version, "2");
    assert.equal(vault.count({ path: "secret/data/team-a/db" }), 1);
    assert.deepEqual(await client.list({ path: "secret/team-a", name: { regexp: "db$" } }), [
      "secret/team-a/db",
    ]);
    await assert.rejects(client.list({ name: { regexp: "db$" } }), InvalidReferenceError);
    await client.close();
  });

  void it("maps a missing secret, a soft-deleted version and a denied path to typed errors without values", async () => {
    const { client } = approleStore();
    await assert.rejects(client.read({ key: "team-a/nope" }), (error: Error) => {
      assert.ok(error instanceof SecretNotFoundError);
      assert.match(error.message, /SecretStore\/team-a\/vault-\d+: read secret\/data\/team-a\/nope/);
      return true;
    });
    vault.root.softDeleteSecret("secret", "team-a/db", [1]);
    await assert.rejects(client.read({ key: "team-a/db", version: "1" }), SecretNotFoundError);
    await assert.rejects(client.read({ key: "team-b/db" }), (error: Error) => {
      assert.ok(error instanceof AccessDeniedError);
      assert.match(error.message, /secret\/data\/team-b\/db/);
      assert.doesNotMatch(error.message, new RegExp(`${PASSWORD}|b-pass|${SECRET_ID}|hvs\\.`));
      return true;
    });
    await client.close();
  });

  void it("reports the KV v2 current version from metadata", async () => {
    const { client } = approleStore();
    assert.equal(await client.currentVersion!({ key: "team-a/db" }), "2");
    vault.root.putSecret("secret", "team-a/db", { password: "rotated" });
    assert.equal(await client.currentVersion!({ key: "team-a/db" }), "3");
    assert.equal(vault.count({ path: /^secret\/data\// }), 0, "a version check reads no value");
    assert.equal(
      await client.currentVersion!({ key: "team-a/db", version: "1" }),
      "1",
      "a pinned version stays",
    );
    await client.close();
  });
});

void describe("find", () => {
  void it("lists recursively and keeps the keys that match the name regexp and tags", async () => {
    vault.root.putSecret("secret", "team-a/apps/api/db", { x: "1" }, { owner: "api" });
    vault.root.putSecret("secret", "team-a/apps/web/db", { x: "2" }, { owner: "web" });
    vault.root.putSecret("secret", "team-a/apps/web/cache", { x: "3" });
    const { client } = approleStore();
    assert.deepEqual(await client.list({ path: "team-a", name: { regexp: "/db$" } }), [
      "team-a/apps/api/db",
      "team-a/apps/web/db",
      "team-a/db",
    ]);
    assert.deepEqual(await client.list({ path: "team-a/apps", tags: { owner: "web" } }), [
      "team-a/apps/web/db",
    ]);
    assert.deepEqual(await client.list({ path: "team-a/none" }), []);
    await assert.rejects(client.list({ path: "team-b" }), AccessDeniedError);
    await assert.rejects(client.list({ path: "team-a", name: { regexp: "(" } }), InvalidReferenceError);
    await client.close();
  });
});

void describe("write (refsync migrate)", () => {
  void it("creates, updates with check-and-set, and leaves an identical value unchanged (KV v2)", async () => {
    const { client } = approleStore();
    assert.deepEqual(await client.write!("team-a/new", { a: "1" }), { outcome: "created", version: "1" });
    assert.deepEqual(await client.write!("team-a/new", { a: "1" }), { outcome: "unchanged", version: "1" });
    assert.deepEqual(await client.write!("team-a/new", { a: "2" }), { outcome: "updated", version: "2" });
    assert.deepEqual(vault.root.getSecret("secret", "team-a/new"), { a: "2" });
    assert.equal(vault.count({ method: "POST", path: "secret/data/team-a/new" }), 2);
    await client.close();
  });

  void it("writes KV v1 idempotently", async () => {
    const { client } = approleStore({ path: "kv", version: "v1" });
    assert.equal((await client.write!("team-a/w", { a: "1" })).outcome, "created");
    assert.equal((await client.write!("team-a/w", { a: "1" })).outcome, "unchanged");
    assert.equal((await client.write!("team-a/w", { a: "3" })).outcome, "updated");
    assert.deepEqual(vault.root.getSecret("kv", "team-a/w"), { a: "3" });
    await client.close();
  });
});

void describe("dynamic secrets", () => {
  void it("returns the lease of database/creds/<role>, renews it, caps at max TTL, and revokes it", async () => {
    const { client } = approleStore({ path: "database", version: "v1" });
    const creds = await client.read({ key: "creds/app" });
    const data = creds.data as Record<string, string>;
    assert.match(data.username!, /^v-app-/);
    assert.ok(creds.lease);
    assert.equal(creds.lease.durationSeconds, 30);
    assert.equal(creds.lease.renewable, true);
    assert.ok(vault.root.credentialsValid(data.username!));

    const renewed = await client.renewLease!(creds.lease);
    assert.equal(renewed.renewable, true);
    assert.ok(renewed.durationSeconds >= 29);
    // Asking for 50 s more runs past the 60 s max TTL: Vault caps the grant, and renewing further is pointless.
    const capped = await client.renewLease!({ ...creds.lease, durationSeconds: 61 });
    assert.equal(capped.renewable, false);
    assert.ok(capped.durationSeconds <= 60);

    await client.revokeLease!(creds.lease);
    assert.equal(vault.root.credentialsValid(data.username!), false);
    await assert.rejects(client.renewLease!(creds.lease), SecretNotFoundError);
    await client.close();
  });
});

void describe("backend faults", () => {
  void it("maps sealed, throttled, dropped and refused connections to typed errors", async () => {
    const { client } = approleStore();
    await client.read({ key: "team-a/db" });
    vault.faults.sealed = true;
    await assert.rejects(client.read({ key: "team-a/db" }), /Vault is sealed/);
    await assert.rejects(client.read({ key: "team-a/db" }), BackendUnavailableError);
    vault.faults.sealed = false;
    vault.faults.throttle = true;
    await assert.rejects(client.read({ key: "team-a/db" }), ThrottledError);
    vault.faults.throttle = false;
    vault.faults.dropConnections = true;
    await assert.rejects(client.read({ key: "team-a/db" }), BackendUnavailableError);
    vault.faults.dropConnections = false;
    vault.faults.delayMs = 500;
    await assert.rejects(client.read({ key: "team-a/db" }, AbortSignal.timeout(100)), /aborted|timeout/i);
    vault.faults.delayMs = 0;
    assert.equal((await client.read({ key: "team-a/db" })).version, "2", "recovers without a new client");
    await client.close();

    const refused = vaultProvider.create(
      { server: "http://127.0.0.1:1", auth: { tokenSecretRef: { name: "t", key: "token" } } },
      testContext("SecretStore/team-a/refused", "team-a", { "team-a/t#token": "hvs.static-token" }),
    );
    await assert.rejects(refused.read({ key: "secret/x" }), (error: Error) => {
      assert.ok(error instanceof BackendUnavailableError);
      assert.match(error.message, /ECONNREFUSED/);
      assert.doesNotMatch(error.message, /hvs\.static-token/);
      return true;
    });
  });
});

void describe("validate", () => {
  void it("checks a ClusterSecretStore with per-namespace identities without logging in as anyone", async () => {
    const context = testContext(
      "ClusterSecretStore/tenants",
      undefined,
      {},
      {
        requestServiceAccountToken: () => Promise.reject(new Error("no acting namespace: must not be asked")),
      },
    );
    const client = vaultProvider.create(
      {
        server: vault.url,
        path: "secret",
        auth: { kubernetes: { role: "tenants", serviceAccountRef: { name: "app" } } },
      },
      context,
    );
    assert.deepEqual(await client.validate(), { status: "Ready" });
    vault.faults.sealed = true;
    assert.deepEqual(await client.validate(), {
      status: "Error",
      message: "ClusterSecretStore/tenants: Vault is sealed",
    });
    assert.equal(vault.count({ path: "sys/health" }), 2);
    assert.equal(vault.count({ path: /^auth\// }), 0);
    await client.close();
  });

  void it("logs in and looks the token up for a store with one identity", async () => {
    const { client } = approleStore();
    assert.deepEqual(await client.validate(), { status: "Ready" });
    assert.equal(vault.count({ path: "auth/approle/login", status: 200 }), 1);
    assert.equal(vault.count({ path: "auth/token/lookup-self", status: 200 }), 1);
    vault.faults.sealed = true;
    const sealed = await client.validate();
    assert.equal(sealed.status, "Error");
    assert.match(sealed.message ?? "", /Vault is sealed/);
    await client.close();
  });
});

void describe("store spec", () => {
  void it("rejects bad specs naming the field", () => {
    const context = testContext("SecretStore/team-a/bad", "team-a");
    assert.throws(
      () =>
        vaultProvider.create(
          { server: vault.url, version: "v3", auth: { tokenSecretRef: { name: "a", key: "b" } } },
          context,
        ),
      (error: Error) =>
        error instanceof InvalidSpecError && /spec\.provider\.vault\.version/.test(error.message),
    );
    assert.throws(
      () =>
        vaultProvider.create(
          { server: vault.url, auth: { kubernetes: { role: "r" }, tokenSecretRef: { name: "a", key: "b" } } },
          context,
        ),
      /spec\.provider\.vault\.auth: set exactly one/,
    );
    assert.throws(
      () => vaultProvider.create({ server: vault.url, auth: { appRole: { roleId: "x" } } }, context),
      /spec\.provider\.vault\.auth\.appRole\.secretRef/,
    );
  });
});

void describe("Enterprise namespaces", () => {
  void it("sends X-Vault-Namespace on login and reads", async () => {
    const ns = vault.namespace("team-a");
    ns.mountKv("secret", 2);
    ns.putSecret("secret", "db", { password: "in-namespace" });
    ns.writePolicy("reader", [{ path: "secret/data/*", capabilities: ["read"] }]);
    ns.enableAppRole();
    ns.addAppRole("app", { roleId: "role-app", secretIds: [SECRET_ID], policies: ["reader"], ttl: 60 });
    const { client } = approleStore({ namespace: "team-a" });
    assert.deepEqual((await client.read({ key: "db" })).data, { password: "in-namespace" });
    assert.equal(vault.count({ namespace: "team-a", path: "auth/approle/login" }), 1);
    assert.equal(vault.count({ namespace: "team-a", path: "secret/data/db", status: 200 }), 1);
    await client.close();
  });
});
