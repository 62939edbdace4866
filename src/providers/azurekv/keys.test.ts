import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { objectRef, versionOf } from "./keys.ts";
import { parseAzureKvSpec, vaultEndpoint } from "./spec.ts";

const S = "SecretStore/ns/kv";

void test("keys: [vault/][secret/|key/|cert/]name, only the store's vault", () => {
  assert.deepEqual(objectRef("db", "kv1", S), { type: "secret", name: "db" });
  assert.deepEqual(objectRef("kv1/db", "kv1", S), { type: "secret", name: "db" });
  assert.deepEqual(objectRef("KV1/db", "kv1", S), { type: "secret", name: "db" });
  assert.deepEqual(objectRef("key/signing", "kv1", S), { type: "key", name: "signing" });
  assert.deepEqual(objectRef("cert/tls", "kv1", S), { type: "cert", name: "tls" });
  assert.deepEqual(objectRef("kv1/cert/tls", "kv1", S), { type: "cert", name: "tls" });
  assert.deepEqual(objectRef("key/secret/db", "key", S), { type: "secret", name: "db" });
  assert.throws(() => objectRef("kv2/db", "kv1", S), /names vault "kv2", but the store reads vault "kv1"/);
  assert.throws(() => objectRef("kv1/blob/db", "kv1", S), /unknown object type "blob"/);
  assert.throws(() => objectRef("a/b/c/d", "kv1", S), InvalidSpecError);
  assert.throws(() => objectRef("db_1", "kv1", S), /not a Key Vault object name/);
});

void test("versions: 32 hex digits, or unset/latest for the current one", () => {
  assert.equal(versionOf(undefined, "db", S), undefined);
  assert.equal(versionOf("latest", "db", S), undefined);
  assert.equal(versionOf("ABCDEF0123456789ABCDEF0123456789", "db", S), "abcdef0123456789abcdef0123456789");
  assert.throws(() => versionOf("AWSCURRENT", "db", S), /32 hex digits/);
});

void test("spec: auth modes checked, fields of another mode refused, the vault URL in its cloud", () => {
  const vaultUrl = "https://my-vault.vault.azure.net";
  assert.equal(vaultEndpoint(parseAzureKvSpec({ vaultUrl })).name, "my-vault");
  assert.equal(
    vaultEndpoint(parseAzureKvSpec({ vaultUrl: "https://x1y.vault.azure.cn", environmentType: "ChinaCloud" }))
      .authorityHost,
    "https://login.chinacloudapi.cn",
  );
  assert.throws(
    () => vaultEndpoint(parseAzureKvSpec({ vaultUrl: "https://my-vault.example.com" })),
    /vaultUrl/,
  );
  assert.throws(() => parseAzureKvSpec({ vaultUrl: "http://my-vault.vault.azure.net" }), /vaultUrl/);
  assert.throws(
    () => parseAzureKvSpec({ vaultUrl, authType: "ServicePrincipal" }),
    /authSecretRef\.clientId/,
  );
  assert.throws(
    () =>
      parseAzureKvSpec({
        vaultUrl,
        tenantId: "t1",
        authType: "ServicePrincipal",
        authSecretRef: {
          clientId: { name: "s", key: "id" },
          clientSecret: { name: "s", key: "a" },
          clientCertificate: { name: "s", key: "b" },
        },
      }),
    /exactly one of clientSecret and clientCertificate/,
  );
  assert.throws(
    () => parseAzureKvSpec({ vaultUrl, identityId: "abc" }),
    /identityId: only for authType ManagedIdentity/,
  );
  assert.throws(
    () => parseAzureKvSpec({ vaultUrl, authType: "ManagedIdentity", serviceAccountRef: { name: "a" } }),
    /serviceAccountRef: only for authType WorkloadIdentity/,
  );
  assert.throws(() => parseAzureKvSpec({ vaultUrl, tenantId: "common" }), /multi-tenant/);
  assert.throws(() => parseAzureKvSpec({ vaultUrl, useAzureSDK: true }), /useAzureSDK/);
  assert.throws(
    () => parseAzureKvSpec({ vaultUrl, environmentType: "AzureStackCloud" }),
    /customCloudConfig/,
  );
});
