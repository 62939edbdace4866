// A Vault served over HTTPS: the store trusts it through caBundle or a caProvider Secret or ConfigMap, and
// a store without the right CA refuses the connection (BackendUnavailable), never falling back to no
// verification. (test/vault/ca-provider.test.ts: ConfigMaps read by the controller from the cluster.)
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { createPki } from "../../../test/cluster/pki.ts";
import { testContext } from "../../../test/servers/vault/context.ts";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { BackendUnavailableError, InvalidSpecError } from "../../errors.ts";
import type { ProviderContext } from "../types.ts";
import { vaultProvider } from "./index.ts";
import { parseVaultSpec } from "./spec.ts";

let dir: string;
let vault: VaultTestServer;
let caPem: string;
let token: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "refsync-vault-tls-"));
  const pki = await createPki(dir);
  caPem = await readFile(pki.caCertPath, "utf8");
  vault = await startVaultServer({
    tls: {
      cert: await readFile(pki.servingCertPath, "utf8"),
      key: await readFile(pki.servingKeyPath, "utf8"),
    },
  });
  vault.root.mountKv("secret", 2);
  vault.root.putSecret("secret", "app/db", { password: "over-tls" });
  token = vault.rootToken;
});
after(async () => {
  await vault.stop();
  await rm(dir, { recursive: true, force: true });
});

const auth = { tokenSecretRef: { name: "vault-token", key: "token" } };

void it("verifies the server against caBundle or a caProvider Secret", async () => {
  const context = testContext("SecretStore/app/tls", "app", {
    "app/vault-token#token": token,
    "app/vault-ca#ca.crt": caPem,
  });
  const bundled = vaultProvider.create(
    { server: vault.url, path: "secret", caBundle: Buffer.from(caPem).toString("base64"), auth },
    context,
  );
  assert.deepEqual((await bundled.read({ key: "app/db" })).data, { password: "over-tls" });
  const provided = vaultProvider.create(
    {
      server: vault.url,
      path: "secret",
      caProvider: { type: "Secret", name: "vault-ca", key: "ca.crt" },
      auth,
    },
    testContext("SecretStore/app/tls-provider", "app", {
      "app/vault-token#token": token,
      "app/vault-ca#ca.crt": caPem,
    }),
  );
  assert.deepEqual((await provided.read({ key: "app/db" })).data, { password: "over-tls" });
  await bundled.close();
  await provided.close();
});

void it("verifies the server against a caProvider ConfigMap, where the context can read ConfigMaps", async () => {
  const spec = {
    server: vault.url,
    path: "secret",
    caProvider: { type: "ConfigMap", name: "vault-ca", key: "ca.crt" },
    auth,
  };
  const asked: Parameters<NonNullable<ProviderContext["readConfigMap"]>>[0][] = [];
  const credentials = { "app/vault-token#token": token };
  const provided = vaultProvider.create(
    spec,
    testContext("SecretStore/app/tls-configmap", "app", credentials, {
      readConfigMap: (ref) => (asked.push(ref), Promise.resolve(caPem)),
    }),
  );
  assert.deepEqual((await provided.read({ key: "app/db" })).data, { password: "over-tls" });
  assert.deepEqual(asked, [{ name: "vault-ca", key: "ca.crt", field: "caProvider" }]);
  await provided.close();

  // The plugin's stores read no ConfigMaps: it says so, before any request.
  vault.clearLog();
  const plugin = vaultProvider.create(spec, testContext('store "vault"', undefined, credentials));
  await assert.rejects(plugin.read({ key: "app/db" }), (error: Error) => {
    assert.ok(error instanceof InvalidSpecError, error.message);
    assert.match(error.message, /^store "vault": caProvider: type ConfigMap is not supported here/);
    return true;
  });
  assert.equal(vault.count(), 0);
  await plugin.close();

  assert.throws(
    () => parseVaultSpec({ ...spec, caProvider: { ...spec.caProvider, type: "Vault" } }, "SecretStore/app/x"),
    /spec\.provider\.vault\.caProvider\.type: /,
  );
});

void it("refuses a server whose certificate the store does not trust", async () => {
  vault.clearLog();
  const client = vaultProvider.create(
    { server: vault.url, path: "secret", auth },
    testContext("SecretStore/app/untrusted", "app", { "app/vault-token#token": token }),
  );
  await assert.rejects(client.read({ key: "app/db" }), (error: Error) => {
    assert.ok(error instanceof BackendUnavailableError, error.message);
    assert.match(
      error.message,
      /SecretStore\/app\/untrusted: read secret\/data\/app\/db: Vault's TLS certificate is not trusted \(\w+\); set caBundle or caProvider/,
    );
    return true;
  });
  assert.equal(vault.count(), 0, "no request reached Vault");
  await client.close();
});
