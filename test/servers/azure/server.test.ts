// The Azure test server driven by the azurekv provider (Microsoft's own SDKs)
// without a cluster: service principals (secret and certificate), the Key
// Vault challenge, tenant checks, RBAC, versions, content types, disabled and
// deleted secrets, pages, 429 with Retry-After, keys, certificates, writes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AccessDeniedError, InvalidSpecError, SecretNotFoundError } from "../../../src/errors.ts";
import { createProviderClient } from "../../../src/providers/registry.ts";
import type { CallResult, ProviderClient, ProviderContext } from "../../../src/providers/types.ts";
import { SECRETS_OFFICER, startAzureServer, type AzureTestServer } from "./index.ts";

const TENANT = "11111111-1111-1111-1111-111111111111";
const OTHER_TENANT = "22222222-2222-2222-2222-222222222222";
let azure: AzureTestServer;
let reader: string;
let certApp: string;
let certPem: string;
let secretV1: string;
const clients: ProviderClient[] = [];
const calls: { call: string; result: CallResult }[] = [];

before(async () => {
  azure = await startAzureServer();
  azure.addVault("refsync-kv", TENANT);
  azure.addVault("other-kv", OTHER_TENANT);
  reader = azure.addApp({ tenant: TENANT, name: "reader", clientSecret: "s3cret-client" });
  const cert = await azure.pki.issue("cert-app");
  certPem = cert.pem;
  certApp = azure.addApp({ tenant: TENANT, name: "cert-app", certificates: [cert.certPem] });
  azure.assignRole("refsync-kv", {
    principal: reader,
    actions: [...SECRETS_OFFICER, "keys/read", "certificates/read"],
  });
  azure.assignRole("refsync-kv", { principal: certApp, actions: ["secrets/getSecret"], objects: ["db"] });
  secretV1 = azure.putSecret("refsync-kv", "db", JSON.stringify({ password: "old-pw" }));
  azure.putSecret("refsync-kv", "db", JSON.stringify({ password: "new-pw", nested: { a: "deep" } }), {
    tags: { team: "a" },
  });
  azure.putSecret("refsync-kv", "blob", Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString("base64"), {
    contentType: "application/octet-stream;base64",
    tags: { team: "a" },
  });
  azure.putSecret("refsync-kv", "off", "disabled-value", { tags: { team: "a" } });
  azure.setEnabled("refsync-kv", "off", false);
  azure.putSecret("refsync-kv", "gone", "deleted-value");
  azure.deleteSecret("refsync-kv", "gone");
  for (let i = 0; i < 7; i++) azure.putSecret("refsync-kv", `page-${i}`, "x", { tags: { team: "b" } });
  const signing = await azure.pki.issue("signing");
  azure.putKey("refsync-kv", "signing", signing.certPem);
  azure.putCertificate("refsync-kv", "tls", signing.der);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await azure?.close();
});

function client(provider: Record<string, unknown>, credentials: Record<string, string> = {}): ProviderClient {
  const context: ProviderContext = {
    storeName: "SecretStore/test/kv",
    namespace: "test",
    readCredential: async (ref) => {
      const value = credentials[ref.key];
      if (value === undefined) throw new SecretNotFoundError(`no ${ref.key}`);
      return value;
    },
    onCall: (call, result) => calls.push({ call, result }),
  };
  const c = createProviderClient(
    {
      azurekv: {
        vaultUrl: azure.vaultUrl("refsync-kv"),
        tenantId: TENANT,
        customCloudConfig: azure.customCloudConfig,
        ...provider,
      },
    },
    context,
  );
  clients.push(c);
  return c;
}

const SP = {
  authType: "ServicePrincipal",
  authSecretRef: { clientId: { name: "sp", key: "id" }, clientSecret: { name: "sp", key: "secret" } },
};
const text = (data: unknown) =>
  typeof data === "string" ? data : Buffer.from(data as Uint8Array).toString("utf8");

void test("service principal with a client secret: challenge, one token, versions, content types", async () => {
  const kv = client(SP, { id: reader, secret: "s3cret-client" });
  azure.clearRequests();
  const current = await kv.read({ key: "db" });
  assert.equal(JSON.parse(text(current.data)).password, "new-pw");
  assert.equal((await kv.read({ key: "refsync-kv/db", version: secretV1 })).version, secretV1);
  assert.equal(
    JSON.parse(text((await kv.read({ key: "secret/db", version: secretV1 })).data)).password,
    "old-pw",
  );
  assert.deepEqual([...((await kv.read({ key: "blob" })).data as Uint8Array)], [0xde, 0xad, 0xbe, 0xef]);
  assert.equal(
    azure.count({ service: "entra", operation: "Token", status: 200 }),
    1,
    "one token for every read",
  );
  const challenge = azure.requests.find((r) => r.service === "vault");
  assert.equal(challenge?.status, 401, "the first Key Vault request is the unauthenticated challenge");
  assert.ok(
    azure.requests.filter((r) => r.service === "vault" && r.status === 200).every((r) => r.apiVersion),
  );
  assert.equal(await kv.currentVersion?.({ key: "db" }), current.version);
  const validation = await kv.validate();
  assert.equal(validation.status, "Ready");
  assert.deepEqual(
    validation.warnings?.map((w) => w.type),
    ["StaticCredentials"],
  );
});

void test("wrong client secret, another vault, disabled and deleted secrets, bad keys", async () => {
  const wrong = client(SP, { id: reader, secret: "wrong" });
  const denied = await wrong.read({ key: "db" }).catch((e: unknown) => e);
  assert.ok(denied instanceof AccessDeniedError, String(denied));
  assert.match(denied.message, /AADSTS7000215/);
  assert.doesNotMatch(denied.message, /wrong|s3cret/);
  const kv = client(SP, { id: reader, secret: "s3cret-client" });
  await assert.rejects(
    kv.read({ key: "other-kv/db" }),
    /names vault "other-kv", but the store reads vault "refsync-kv"/,
  );
  const disabled = await kv.read({ key: "off" }).catch((e: unknown) => e);
  assert.ok(disabled instanceof AccessDeniedError && /disabled/.test(disabled.message), String(disabled));
  await assert.rejects(kv.read({ key: "gone" }), SecretNotFoundError);
  await assert.rejects(kv.read({ key: "db", version: "7" }), InvalidSpecError);
  await assert.rejects(kv.read({ key: "a/b/c/d" }), InvalidSpecError);
});

void test("a vault of another tenant refuses the token: the credential does not follow its challenge", async () => {
  const kv = client({ ...SP, vaultUrl: azure.vaultUrl("other-kv") }, { id: reader, secret: "s3cret-client" });
  const error = await kv.read({ key: "db" }).catch((e: unknown) => e);
  assert.ok(error instanceof AccessDeniedError, String(error));
  assert.match(error.message, new RegExp(OTHER_TENANT));
});

void test("service principal with a certificate: RBAC per secret", async () => {
  const kv = client(
    {
      authType: "ServicePrincipal",
      authSecretRef: { clientId: { name: "sp", key: "id" }, clientCertificate: { name: "sp", key: "cert" } },
    },
    { id: certApp, cert: certPem },
  );
  assert.equal(JSON.parse(text((await kv.read({ key: "db" })).data)).password, "new-pw");
  const other = await kv.read({ key: "blob" }).catch((e: unknown) => e);
  assert.ok(other instanceof AccessDeniedError, String(other));
  assert.match(other.message, /ForbiddenByRbac/);
  assert.equal((await kv.validate()).status, "Ready", "authenticated, though it may not list the vault");
});

void test("find by tag and name over pages; key as JWK, certificate as PEM", async () => {
  azure.setPageSize(3);
  try {
    const kv = client(SP, { id: reader, secret: "s3cret-client" });
    azure.clearRequests();
    assert.deepEqual(await kv.list({ tags: { team: "a" } }), ["blob", "db"], "disabled secrets are skipped");
    assert.ok(azure.count({ operation: "ListSecrets", status: 200 }) >= 4, "followed nextLink");
    assert.deepEqual(await kv.list({ name: { regexp: "^page-[0-2]$" } }), ["page-0", "page-1", "page-2"]);
    const key = (await kv.read({ key: "key/signing" })).data as Record<string, unknown>;
    assert.equal(key["kty"], "RSA");
    assert.equal(typeof key["n"], "string");
    assert.equal(key["d"], undefined);
    const cert = text((await kv.read({ key: "refsync-kv/cert/tls" })).data);
    assert.match(cert, /^-----BEGIN CERTIFICATE-----\n/);
  } finally {
    azure.setPageSize(25);
  }
});

void test("429 with Retry-After is retried by the SDK, and every attempt is counted", async () => {
  const kv = client(SP, { id: reader, secret: "s3cret-client" });
  await kv.read({ key: "db" });
  calls.length = 0;
  azure.clearRequests();
  azure.failNext("throttle", 2, { operation: "GetSecret" });
  const started = Date.now();
  assert.equal(JSON.parse(text((await kv.read({ key: "db" })).data)).password, "new-pw");
  assert.ok(Date.now() - started >= 1900, "waited Retry-After between attempts");
  assert.equal(azure.count({ operation: "GetSecret", status: 429 }), 2);
  assert.deepEqual(
    calls.filter((c) => c.call === "GetSecret").map((c) => c.result),
    ["throttled", "throttled", "success"],
  );
});

void test("write: created, unchanged, updated; a soft-deleted name is a conflict", async () => {
  const kv = client(SP, { id: reader, secret: "s3cret-client" });
  assert.equal((await kv.write!("migrated", { a: "1" })).outcome, "created");
  assert.deepEqual(azure.secretValue("refsync-kv", "migrated"), {
    value: '{"a":"1"}',
    contentType: "application/json",
  });
  assert.equal((await kv.write!("migrated", { a: "1" })).outcome, "unchanged");
  assert.equal((await kv.write!("migrated", { a: "2" })).outcome, "updated");
  await assert.rejects(kv.write!("gone", { a: "1" }), /deleted secret of that name is kept for recovery/);
  await assert.rejects(kv.write!("key/signing", { a: "1" }), InvalidSpecError);
});

void test("tokens are refreshed before they expire, one request per refresh", async () => {
  azure.setTokenSeconds(4);
  try {
    const kv = client(SP, { id: reader, secret: "s3cret-client" });
    azure.clearRequests();
    await Promise.all([kv.read({ key: "db" }), kv.read({ key: "blob" }), kv.read({ key: "db" })]);
    assert.equal(azure.count({ service: "entra", operation: "Token", status: 200 }), 1);
    // Half the lifetime is the refresh margin of a short-lived token: past it, the next read takes a new one.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    azure.clearRequests();
    await Promise.all([kv.read({ key: "db" }), kv.read({ key: "blob" })]);
    assert.equal(azure.count({ service: "entra", operation: "Token", status: 200 }), 1, "one refresh");
    assert.equal(
      azure.count({ service: "vault", status: 401 }),
      0,
      "no read was refused for an expired token",
    );
  } finally {
    azure.setTokenSeconds(3600);
  }
});

void test("a token revoked before its expiry is dropped: one new token, and no read fails", async () => {
  const kv = client(SP, { id: reader, secret: "s3cret-client" });
  assert.equal(JSON.parse(text((await kv.read({ key: "db" })).data)).password, "new-pw");
  azure.expireTokens();
  azure.clearRequests();
  calls.length = 0;
  assert.equal(JSON.parse(text((await kv.read({ key: "db" })).data)).password, "new-pw");
  assert.equal(azure.count({ service: "entra", operation: "Token", status: 200 }), 1, "one new token");
  assert.equal(azure.count({ service: "vault", status: 401 }), 1, "refused once, with the revoked token");
  assert.deepEqual(
    calls.map((c) => `${c.call} ${c.result}`),
    ["GetSecret denied", "GetToken success", "GetSecret success"],
  );
  // The SDK still holds the revoked token: the reads it signs with it carry the new one.
  azure.clearRequests();
  await Promise.all([kv.read({ key: "db" }), kv.read({ key: "blob" })]);
  assert.equal(azure.count({ service: "entra" }), 0, "the new token is cached");
  assert.equal(azure.count({ service: "vault", status: 401 }), 0, "and replaces the revoked one");
  // Concurrent reads refused together share one renewal.
  azure.expireTokens();
  azure.clearRequests();
  const values = await Promise.all([
    kv.read({ key: "db" }),
    kv.read({ key: "blob" }),
    kv.read({ key: "db" }),
  ]);
  assert.equal(values.length, 3);
  assert.equal(azure.count({ service: "entra", operation: "Token", status: 200 }), 1, "one token for all");
});
