// metadataPolicy Fetch on Azure Key Vault, as ESO reads it: the secret
// bundle's tags plus its attributes (attribute.created, attribute.updated, in
// RFC 3339), through Microsoft's SDK and the protocol test server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  startAzureServer,
  SECRETS_OFFICER,
  type AzureTestServer,
} from "../../../test/servers/azure/index.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { extractMap, extractValue } from "../extract.ts";
import { createProviderClient } from "../registry.ts";
import type { ProviderClient } from "../types.ts";

const TENANT = "11111111-1111-1111-1111-111111111111";
let azure: AzureTestServer;
let kv: ProviderClient;

before(async () => {
  azure = await startAzureServer();
  azure.addVault("refsync-kv", TENANT);
  const reader = azure.addApp({ tenant: TENANT, name: "reader", clientSecret: "s3cret-client" });
  azure.assignRole("refsync-kv", { principal: reader, actions: SECRETS_OFFICER });
  azure.putSecret("refsync-kv", "db", "the-value", {
    tags: { team: "a", cfg: JSON.stringify({ owner: "ops", tier: "1" }) },
  });
  const credentials: Record<string, string> = { id: reader, secret: "s3cret-client" };
  kv = createProviderClient(
    {
      azurekv: {
        vaultUrl: azure.vaultUrl("refsync-kv"),
        tenantId: TENANT,
        customCloudConfig: azure.customCloudConfig,
        authType: "ServicePrincipal",
        authSecretRef: { clientId: { name: "sp", key: "id" }, clientSecret: { name: "sp", key: "secret" } },
      },
    },
    {
      storeName: "SecretStore/test/kv",
      namespace: "test",
      readCredential: (ref) => Promise.resolve(credentials[ref.key] ?? ""),
    },
  );
});

after(async () => {
  await kv?.close();
  await azure?.close();
});

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const req = { store: "SecretStore/test/kv", key: "db" };
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

void test("tags and attributes as one JSON map; a tag, or a path inside a JSON tag", async () => {
  const value = await kv.read({ key: "db", metadata: true });
  const whole = JSON.parse(text(extractValue(value, req))) as Record<string, string>;
  assert.deepEqual(Object.keys(whole), ["attribute.created", "attribute.updated", "cfg", "team"]);
  assert.match(whole["attribute.created"] ?? "", RFC3339);
  assert.equal(text(extractValue(value, { ...req, property: "team" })), "a");
  assert.equal(text(extractValue(value, { ...req, property: "cfg.owner" })), "ops");
  assert.throws(() => extractValue(value, { ...req, property: "nope" }), SecretNotFoundError);
  assert.ok(!JSON.stringify(value).includes("the-value"));
});

void test("dataFrom.extract: ESO's flattened map, prefixed with the secret's name", async () => {
  const value = await kv.read({ key: "db", metadata: true });
  const map = extractMap(value, req);
  assert.deepEqual(Object.keys(map).sort(), [
    "db_attribute.created",
    "db_attribute.updated",
    "db_cfg_owner",
    "db_cfg_tier",
    "db_team",
  ]);
  assert.equal(text(map.db_cfg_tier ?? new Uint8Array()), "1");
  assert.throws(() => extractMap(value, { ...req, property: "team" }), InvalidSpecError);
});
