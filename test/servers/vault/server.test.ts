// The Vault test server speaks Vault's wire format: raw HTTP checks of what node-vault relies on.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, it } from "node:test";
import { startVaultServer, type VaultTestServer } from "./index.ts";

let vault: VaultTestServer;

before(async () => {
  vault = await startVaultServer();
  vault.root.mountKv("secret", 2);
  vault.root.putSecret("secret", "a/one", { k: "v1" });
  vault.root.putSecret("secret", "a/one", { k: "v2" });
  vault.root.putSecret("secret", "a/b/two", { k: "x" });
  vault.root.writePolicy("p", [
    { path: "secret/data/a/*", capabilities: ["read"] },
    { path: "secret/data/a/b/*", capabilities: ["deny"] },
    { path: "secret/metadata/+/", capabilities: ["list"] },
  ]);
});
after(async () => {
  await vault.stop();
});

async function call(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  namespace?: string,
): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const response = await fetch(`${vault.url}/v1/${path}`, {
    method,
    headers: {
      ...(token ? { "X-Vault-Token": token } : {}),
      ...(namespace ? { "X-Vault-Namespace": namespace } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

void it("answers KV v2 reads, versions, soft deletes and lists in Vault's shapes", async () => {
  const root = vault.rootToken;
  const latest = await call("GET", "secret/data/a/one", root);
  assert.equal(latest.status, 200);
  assert.deepEqual((latest.body?.data as { data: unknown }).data, { k: "v2" });
  assert.equal((latest.body?.data as { metadata: { version: number } }).metadata.version, 2);
  assert.equal(latest.body?.lease_id, "");
  const missing = await call("GET", "secret/data/a/none", root);
  assert.deepEqual(missing, { status: 404, body: { errors: [] } });

  assert.equal((await call("DELETE", "secret/data/a/one", root)).status, 204);
  const deleted = await call("GET", "secret/data/a/one", root);
  assert.equal(deleted.status, 404);
  assert.equal((deleted.body?.data as { data: unknown }).data, null);
  assert.equal((await call("GET", "secret/data/a/one?version=1", root)).status, 200);
  assert.equal((await call("POST", "secret/undelete/a/one", root, { versions: [2] })).status, 204);

  const list = await call("GET", "secret/metadata/a?list=true", root);
  assert.deepEqual((list.body?.data as { keys: string[] }).keys, ["b/", "one"]);
  const cas = await call("POST", "secret/data/a/one", root, { data: { k: "v3" }, options: { cas: 1 } });
  assert.deepEqual(cas, {
    status: 400,
    body: { errors: ["check-and-set parameter did not match the current version"] },
  });
});

void it("enforces ACL globs, + segments, deny, and token TTLs", async () => {
  const token = vault.root.createToken({ policies: ["p"], ttl: 1 });
  assert.equal((await call("GET", "secret/data/a/one", token)).status, 200);
  assert.deepEqual(await call("GET", "secret/data/a/b/two", token), {
    status: 403,
    body: { errors: ["1 error occurred:\n\t* permission denied\n\n"] },
  });
  assert.deepEqual(await call("GET", "secret/data/a/one", "hvs.unknown"), {
    status: 403,
    body: { errors: ["permission denied"] },
  });
  assert.equal((await call("GET", "secret/metadata/a/?list=true", token)).status, 200);
  assert.equal((await call("GET", "secret/metadata/a/b/?list=true", token)).status, 403);
  const self = await call("GET", "auth/token/lookup-self", token);
  assert.deepEqual((self.body?.data as { policies: string[] }).policies, ["default", "p"]);
  await sleep(1100);
  assert.equal((await call("GET", "auth/token/lookup-self", token)).status, 403, "the TTL really expires");
});

void it("seals, throttles and scopes namespaces like Vault", async () => {
  vault.faults.sealed = true;
  assert.deepEqual(await call("GET", "secret/data/a/one", vault.rootToken), {
    status: 503,
    body: { errors: ["Vault is sealed"] },
  });
  const health = await call("GET", "sys/health");
  assert.equal(health.status, 503);
  assert.equal(health.body?.sealed, true);
  vault.faults.sealed = false;
  vault.faults.throttle = true;
  assert.equal((await call("GET", "secret/data/a/one", vault.rootToken)).status, 429);
  vault.faults.throttle = false;

  const ns = vault.namespace("team-x");
  ns.mountKv("secret", 2);
  ns.putSecret("secret", "only-here", { k: "ns" });
  const nsToken = ns.createToken({ policies: ["root"], ttl: 60 });
  assert.equal((await call("GET", "secret/data/only-here", nsToken, undefined, "team-x")).status, 200);
  assert.equal(
    (await call("GET", "secret/data/only-here", nsToken)).status,
    403,
    "a namespace token is unknown at the root",
  );
  assert.equal(vault.count({ namespace: "team-x" }), 1);
});

void it("fills templated policy paths from the login's metadata", async () => {
  vault.root.mountKv("tenants", 2);
  vault.root.putSecret("tenants", "team-a/db", { k: "a" });
  vault.root.putSecret("tenants", "team-b/db", { k: "b" });
  vault.root.writePolicy("per-namespace", [
    {
      path: "tenants/data/{{identity.entity.aliases.auth_kubernetes_0c1d.metadata.service_account_namespace}}/*",
      capabilities: ["read"],
    },
  ]);
  vault.root.enableAppRole("approle-tpl");
  vault.root.addAppRole(
    "team-a",
    { roleId: "r-a", secretIds: ["s-a"], policies: ["per-namespace"], ttl: 60 },
    "approle-tpl",
  );
  const login = await call("POST", "auth/approle-tpl/login", undefined, { role_id: "r-a", secret_id: "s-a" });
  const token = (login.body?.auth as { client_token: string }).client_token;
  // AppRole logins carry no service_account_namespace: the templated rule is ignored.
  assert.equal((await call("GET", "tenants/data/team-a/db", token)).status, 403);
  const withNamespace = vault.root.tokens.create(
    { policies: ["per-namespace"], ttl: 60 },
    "kubernetes-team-a-app",
    "auth/kubernetes/login",
    { service_account_namespace: "team-a" },
  );
  assert.equal((await call("GET", "tenants/data/team-a/db", withNamespace.id)).status, 200);
  assert.equal((await call("GET", "tenants/data/team-b/db", withNamespace.id)).status, 403);
});
