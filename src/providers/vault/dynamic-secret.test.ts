// ESO's VaultDynamicSecret generator against the Vault protocol test server, through node-vault:
// the request each method makes, the three result types, empty answers, and spec errors.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { startVaultServer, type VaultTestServer } from "../../../test/servers/vault/index.ts";
import { testContext } from "../../../test/servers/vault/context.ts";
import { PKI_ISSUE_FIELDS } from "../../../test/servers/vault/pki.ts";
import { generatorSpecOf } from "../../api/generator-spec.ts";
import type { VaultDynamicSecretSpec } from "../../api/generators.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { vaultDynamicSecret } from "./dynamic-secret.ts";

const SECRET_ID = "dyn-secret-id-51c2";
let vault: VaultTestServer;

before(async () => {
  vault = await startVaultServer();
  const root = vault.root;
  root.mountPki("pki");
  root.addPkiRole("example-dot-com", { ttl: 3600 });
  root.mountKv("secret", 2);
  root.putSecret("secret", "app/db", { password: "first" });
  root.putSecret("secret", "app/db", { password: "second", port: "5432" });
  root.writePolicy("gen", [
    { path: "pki/issue/example-dot-com", capabilities: ["update"] },
    { path: "secret/data/app/*", capabilities: ["read"] },
    { path: "secret/metadata/app/", capabilities: ["list"] },
    { path: "secret/data/app/db", capabilities: ["read", "delete"] },
  ]);
  root.enableAppRole();
  root.addAppRole("gen", { roleId: "role-gen", secretIds: [SECRET_ID], policies: ["gen"], ttl: 300 });
});
after(() => vault.stop());

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

function run(fields: Record<string, unknown>) {
  const context = testContext("VaultDynamicSecret/team-a/gen", "team-a", {
    "team-a/approle#secret-id": SECRET_ID,
  });
  const spec = {
    provider: {
      server: vault.url,
      auth: { appRole: { roleId: "role-gen", secretRef: { name: "approle", key: "secret-id" } } },
    },
    ...fields,
  };
  const parsed = generatorSpecOf("VaultDynamicSecret", spec).spec as VaultDynamicSecretSpec;
  return { context, values: vaultDynamicSecret(parsed, context) };
}

void describe("VaultDynamicSecret", () => {
  void it("ESO's PKI snippet: POST pki/issue, the data as keys, nested values as Go's JSON", async () => {
    const { context, values } = run({
      path: "/pki/issue/example-dot-com",
      method: "POST",
      parameters: { common_name: "localhost", ip_sans: "127.0.0.1,127.0.0.11" },
      resultType: "Data",
    });
    const out = await values;
    assert.deepEqual(Object.keys(out).sort(), PKI_ISSUE_FIELDS);
    const cert = new X509Certificate(text(out.certificate));
    assert.equal(cert.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:127.0.0.11");
    assert.equal(text(out.private_key_type), "rsa");
    assert.equal(text(out.expiration), String(Math.floor(Date.parse(cert.validTo) / 1000)));
    // A []any is Go's JSON of it; the PEM's newlines escaped.
    assert.equal(text(out.ca_chain), JSON.stringify([text(out.issuing_ca)]));
    // Vault's Go client writes with PUT; the test server logs the method it got.
    assert.equal(vault.count({ method: "PUT", path: "pki/issue/example-dot-com", status: 200 }), 1);
    assert.equal(context.callCount("write", "success"), 1);
  });

  void it("GET (the default) sends getParameters as the query string", async () => {
    const first = await run({ path: "secret/data/app/db", getParameters: { version: ["1"] } }).values;
    assert.deepEqual(JSON.parse(text(first.data)), { password: "first" });
    assert.equal(JSON.parse(text(first.metadata)).version, 1);
    const latest = await run({ path: "secret/data/app/db", method: "GET" }).values;
    assert.deepEqual(JSON.parse(text(latest.data)), { password: "second", port: "5432" });
  });

  void it("LIST lists; Raw is the whole answer as api.Secret marshals it", async () => {
    const listed = await run({ path: "secret/metadata/app", method: "LIST" }).values;
    assert.equal(text(listed.keys), '["db"]');
    const raw = await run({ path: "secret/data/app/db", resultType: "Raw" }).values;
    assert.deepEqual(Object.keys(raw).sort(), [
      "data",
      "lease_duration",
      "lease_id",
      "mount_type",
      "renewable",
      "request_id",
      "warnings",
    ]);
    assert.equal(text(raw.lease_duration), "0");
    assert.equal(text(raw.renewable), "false");
    assert.equal(text(raw.warnings), "");
    assert.equal(text(raw.mount_type), "kv");
    assert.equal(JSON.parse(text(raw.data)).data.password, "second");
  });

  void it("Auth is the auth section with every field of api.SecretAuth (a login's token)", async () => {
    const out = await run({
      path: "auth/approle/login",
      method: "POST",
      parameters: { role_id: "role-gen", secret_id: SECRET_ID },
      resultType: "Auth",
    }).values;
    assert.deepEqual(Object.keys(out).sort(), [
      "accessor",
      "client_token",
      "entity_id",
      "identity_policies",
      "lease_duration",
      "metadata",
      "mfa_requirement",
      "orphan",
      "policies",
      "renewable",
      "token_policies",
    ]);
    assert.ok(vault.root.tokens.lookup(text(out.client_token)), "a live token");
    assert.equal(text(out.lease_duration), "300");
    assert.ok((JSON.parse(text(out.policies)) as string[]).includes("gen"));
    assert.equal(text(out.mfa_requirement), "");
    const none = await run({ path: "secret/data/app/db", resultType: "Auth" }).values;
    assert.deepEqual(none, {}, "no auth section: no keys, as ESO");
  });

  void it("an empty answer fails unless allowEmptyResponse; a read answered 404 is empty, a write is not", async () => {
    await assert.rejects(
      run({ path: "secret/data/app/missing" }).values,
      (err: Error) =>
        err instanceof SecretNotFoundError &&
        /read secret\/data\/app\/missing: Vault answered with no secret/.test(err.message),
    );
    assert.deepEqual(await run({ path: "secret/data/app/missing", allowEmptyResponse: true }).values, {});
    await assert.rejects(
      run({ path: "nomount/x", method: "POST", allowEmptyResponse: true }).values,
      (err: Error) => err instanceof SecretNotFoundError && /write nomount\/x: not found/.test(err.message),
    );
    // DELETE answers 204: no body.
    await assert.rejects(
      run({ path: "secret/data/app/db", method: "DELETE" }).values,
      /Vault answered with no secret/,
    );
    vault.root.putSecret("secret", "app/db", { password: "third" });
    assert.deepEqual(
      await run({ path: "secret/data/app/db", method: "DELETE", allowEmptyResponse: true }).values,
      {},
    );
  });

  void it("spec errors name the field; a denied call is a denial", async () => {
    assert.throws(() => generatorSpecOf("VaultDynamicSecret", { provider: {} }), /spec\.path/);
    assert.throws(() => generatorSpecOf("VaultDynamicSecret", { path: "x" }), /spec\.provider/);
    assert.throws(
      () => generatorSpecOf("VaultDynamicSecret", { path: "x", provider: {}, resultType: "Body" }),
      /spec\.resultType/,
    );
    assert.throws(
      () => generatorSpecOf("VaultDynamicSecret", { path: "x", provider: {}, mount: "pki" }),
      /mount/,
    );
    // Its controller class is a field of the spec (src/controller/secretstore/controller-class.ts).
    const classed = generatorSpecOf("VaultDynamicSecret", { path: "x", provider: {}, controller: "dev" });
    assert.equal((classed.spec as VaultDynamicSecretSpec).controller, "dev");
    const spec = generatorSpecOf("VaultDynamicSecret", {
      path: "x",
      provider: { server: "not a url" },
    }).spec as VaultDynamicSecretSpec;
    await assert.rejects(
      vaultDynamicSecret(spec, testContext("VaultDynamicSecret/team-a/gen", "team-a")),
      (err: Error) =>
        err instanceof InvalidSpecError &&
        /^invalid Vault provider: spec\.provider\.server/.test(err.message),
    );
    await assert.rejects(
      vaultDynamicSecret(
        { ...spec, provider: { server: vault.url, path: "secret" } },
        testContext("g", "team-a"),
      ),
      /^InvalidSpecError: spec\.provider\.path: no effect in a VaultDynamicSecret/,
    );
    await assert.rejects(
      run({ path: "pki/issue/other", method: "POST", parameters: { common_name: "x" } }).values,
      (err: Error) => err.name === "AccessDeniedError",
    );
  });
});
