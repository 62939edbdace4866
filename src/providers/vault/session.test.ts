// Vault logins and tokens: one login per store identity, renewal, re-acquisition, static tokens, JWT.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, beforeEach, describe, it } from "node:test";
import { signJwt, startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { testContext, type TestContext } from "../../../test/servers/vault/context.ts";
import { AccessDeniedError } from "../../errors.ts";
import type { ProviderClient } from "../types.ts";
import { vaultProvider } from "./index.ts";

const SECRET_ID = "approle-secret-id-55aa";
const LOGIN = { path: "auth/approle/login", status: 200 };

let vault: VaultTestServer;
let storeCounter = 0;

function appRoleStore(storeName = `SecretStore/team-a/vault-${++storeCounter}`): {
  client: ProviderClient;
  context: TestContext;
} {
  const context = testContext(storeName, "team-a", { "team-a/approle#secret-id": SECRET_ID });
  const spec = {
    server: vault.url,
    path: "secret",
    auth: { appRole: { roleId: "role-app", secretRef: { name: "approle", key: "secret-id" } } },
  };
  return { client: vaultProvider.create(spec, context), context };
}

function defineAppRole(ttl: number, maxTtl?: number): void {
  vault.root.addAppRole("app", {
    roleId: "role-app",
    secretIds: [SECRET_ID],
    policies: ["app"],
    ttl,
    ...(maxTtl !== undefined ? { maxTtl } : {}),
  });
}

before(async () => {
  vault = await startVaultServer();
});
after(async () => {
  await vault.stop();
});
beforeEach(() => {
  vault.root.mountKv("secret", 2);
  vault.root.writePolicy("app", [{ path: "secret/data/team-a/*", capabilities: ["read"] }]);
  vault.root.enableAppRole();
  defineAppRole(60);
  for (let i = 0; i < 5; i++) vault.root.putSecret("secret", `team-a/s${i}`, { value: `v${i}` });
  vault.root.putSecret("secret", "team-b/x", { value: "b" });
  vault.clearLog();
});

void describe("token sessions", () => {
  void it("logs in once per store identity, however many clients and concurrent reads", async () => {
    const storeName = "SecretStore/team-a/shared";
    const clients = [appRoleStore(storeName), appRoleStore(storeName), appRoleStore(storeName)];
    await Promise.all(
      clients.flatMap(({ client }) =>
        Array.from({ length: 10 }, (_, i) => client.read({ key: `team-a/s${i % 5}` })),
      ),
    );
    assert.equal(vault.count(LOGIN), 1);
    assert.equal(vault.count({ path: /^secret\/data\// }), 30);
    const reported = clients.reduce((sum, { context }) => sum + context.callCount("login", "success"), 0);
    assert.equal(reported, 1, "the login is reported through onCall");
    // A client built later for the same store (a new store generation, the next render) reuses the token.
    for (const { client } of clients) await client.close();
    const later = appRoleStore(storeName).client;
    await later.read({ key: "team-a/s1" });
    assert.equal(vault.count(LOGIN), 1);
    await later.close();
    // Another store with the same credentials is another identity: its own token.
    await appRoleStore().client.read({ key: "team-a/s0" });
    assert.equal(vault.count(LOGIN), 2);
  });

  // TTLs are the subject here: the clock that the session and the test server both read (Date) is
  // mocked and moved on exactly, so a loaded machine cannot turn "4.2 s later" into "after expiry".
  void it("renews the token after about 2/3 of its TTL, and logs in anew once the max TTL caps renewals", async (t) => {
    t.mock.timers.enable({ apis: ["Date"], now: Date.now() });
    // TTL 6 s: renewal due from 3.6–4 s on; a use at 4.2 s renews. The max TTL (8 s) caps that renewal,
    // so the next use after its refresh point logs in instead of renewing again.
    defineAppRole(6, 8);
    const { client, context } = appRoleStore();
    await client.read({ key: "team-a/s0" });
    t.mock.timers.tick(4200);
    await client.read({ key: "team-a/s0" });
    assert.equal(vault.count({ path: "auth/token/renew-self", status: 200 }), 1);
    assert.equal(vault.count(LOGIN), 1);
    assert.equal(context.callCount("renew-token", "success"), 1);
    t.mock.timers.tick(3600);
    await client.read({ key: "team-a/s0" });
    assert.equal(vault.count(LOGIN), 2);
    assert.equal(vault.count({ path: "auth/token/renew-self" }), 1, "a capped token is not renewed again");
    assert.equal(vault.count({ status: 403 }), 0, "never used an expired token");
    await client.close();
  });

  void it("logs in again after an idle token expired, without a 403 first", async (t) => {
    t.mock.timers.enable({ apis: ["Date"], now: Date.now() });
    defineAppRole(1);
    const { client } = appRoleStore();
    await client.read({ key: "team-a/s0" });
    t.mock.timers.tick(1200);
    await client.read({ key: "team-a/s1" });
    assert.equal(vault.count(LOGIN), 2);
    assert.equal(vault.count({ status: 403 }), 0);
    await client.close();
  });

  void it("re-acquires a revoked token once, but answers a policy denial without logging in", async () => {
    const { client } = appRoleStore();
    await client.read({ key: "team-a/s0" });
    assert.equal(vault.root.revokeAllTokens() > 0, true);
    await client.read({ key: "team-a/s0" });
    assert.equal(vault.count(LOGIN), 2);

    for (let i = 0; i < 3; i++) await assert.rejects(client.read({ key: "team-b/x" }), AccessDeniedError);
    assert.equal(vault.count(LOGIN), 2, "a denied path is not a reason to log in");
    await client.close();
  });

  void it("does not loop when the credentials no longer work", async () => {
    const { client, context } = appRoleStore();
    await client.read({ key: "team-a/s0" });
    vault.root.revokeAllTokens();
    context.credentials.set("team-a/approle#secret-id", "a-wrong-secret-id");
    await assert.rejects(client.read({ key: "team-a/s0" }), (error: Error) => {
      assert.ok(error instanceof AccessDeniedError, error.message);
      assert.match(
        error.message,
        /appRole login at auth\/approle\/login: Vault rejected the login \(400\): invalid role or secret ID/,
      );
      assert.doesNotMatch(error.message, /a-wrong-secret-id/);
      return true;
    });
    assert.equal(vault.count(LOGIN), 1);
    assert.equal(vault.count({ path: "auth/approle/login" }), 2);
    await client.close();
  });
});

void describe("static tokens", () => {
  void it("work, carry the StaticCredentials warning, and a rotated Secret is re-read on 403", async () => {
    const first = vault.root.createToken({ policies: ["app"], ttl: 0 });
    const context = testContext("SecretStore/team-a/static", "team-a", { "team-a/vault-token#token": first });
    const client = vaultProvider.create(
      { server: vault.url, path: "secret", auth: { tokenSecretRef: { name: "vault-token", key: "token" } } },
      context,
    );
    const validation = await client.validate();
    assert.equal(validation.status, "Ready");
    assert.deepEqual(
      validation.warnings?.map((w) => w.type),
      ["StaticCredentials"],
    );
    await client.read({ key: "team-a/s0" });

    vault.root.revokeAllTokens();
    await assert.rejects(client.read({ key: "team-a/s0" }), AccessDeniedError);
    const second = vault.root.createToken({ policies: ["app"], ttl: 0 });
    context.credentials.set("team-a/vault-token#token", second);
    assert.deepEqual((await client.read({ key: "team-a/s0" })).data, { value: "v0" });
    const failed = await client.validate();
    assert.equal(failed.status, "Ready");
    await client.close();
  });
});

void describe("JWT auth", () => {
  void it("logs in with a JWT from a Secret, checking signature and bound audience", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    vault.root.enableJwtAuth(() => [{ ...publicKey.export({ format: "jwk" }), kid: "k1" }]);
    vault.root.addJwtRole("ci", { boundAudiences: ["vault"], policies: ["app"], ttl: 60 });
    const now = Math.floor(Date.now() / 1000);
    const good = signJwt({ iss: "test", sub: "ci-bot", aud: "vault", exp: now + 600 }, privateKey, "k1");
    const wrongAudience = signJwt(
      { iss: "test", sub: "ci-bot", aud: "other", exp: now + 600 },
      privateKey,
      "k1",
    );
    const context = testContext("SecretStore/team-a/jwt", "team-a", {
      "team-a/ci-jwt#token": good,
      "team-a/bad-jwt#token": wrongAudience,
    });
    const spec = (name: string) => ({
      server: vault.url,
      path: "secret",
      auth: { jwt: { role: "ci", secretRef: { name, key: "token" } } },
    });
    const client = vaultProvider.create(spec("ci-jwt"), context);
    assert.deepEqual((await client.read({ key: "team-a/s1" })).data, { value: "v1" });
    assert.equal(vault.count({ path: "auth/jwt/login", status: 200, identity: "jwt-ci-bot" }), 1);

    const rejected = vaultProvider.create(spec("bad-jwt"), context);
    await assert.rejects(rejected.read({ key: "team-a/s1" }), (error: Error) => {
      assert.match(error.message, /SecretStore\/team-a\/jwt: jwt login at auth\/jwt\/login/);
      assert.match(error.message, /audience/);
      assert.ok(!error.message.includes(wrongAudience));
      return true;
    });
    await client.close();
    await rejected.close();
  });
});

void describe("cancellation", () => {
  void it("a caller that gives up leaves no unhandled rejection behind, and the next caller logs in", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      const { client, context } = appRoleStore();
      // Like the Kubernetes client: an aborted signal fails the credential read.
      const readCredential = context.readCredential;
      context.readCredential = (ref, signal) =>
        signal?.aborted ? Promise.reject(signal.reason as Error) : readCredential(ref, signal);
      await assert.rejects(
        client.read({ key: "team-a/s0" }, AbortSignal.abort(new Error("reconcile cancelled"))),
        /reconcile cancelled/,
      );
      assert.equal(vault.count(LOGIN), 0, "an aborted caller starts no login");

      vault.faults.delayMs = 300;
      const controller = new AbortController();
      const first = client.read({ key: "team-a/s0" }, controller.signal);
      setTimeout(() => controller.abort(new Error("reconcile cancelled")), 50);
      await assert.rejects(first, /reconcile cancelled/);
      await assert.rejects(client.read({ key: "team-a/s0" }, controller.signal), /reconcile cancelled/);
      vault.faults.delayMs = 0;
      await sleep(400);
      assert.deepEqual((await client.read({ key: "team-a/s0" })).data, { value: "v0" });
      assert.deepEqual(unhandled, []);
      await client.close();
    } finally {
      vault.faults.delayMs = 0;
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
