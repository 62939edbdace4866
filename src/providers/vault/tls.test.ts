// A Vault served over HTTPS: the store trusts it through caBundle or a caProvider Secret, and a store
// without the right CA refuses the connection (BackendUnavailable), never falling back to no verification.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { createPki } from "../../../test/cluster/pki.ts";
import { testContext } from "../../../test/servers/vault/context.ts";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { BackendUnavailableError } from "../errors.ts";
import { vaultProvider } from "./index.ts";

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
