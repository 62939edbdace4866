// An ESO Azure store shaped as ESO's sovereign-cloud and Azure Stack docs write it
// (customCloudConfig with keyVaultEndpoint and resourceManagerEndpoint, useAzureSDK)
// converted by src/api/eso.ts: the two endpoints ESO never reads are dropped with
// their reason, and the converted store reads through Microsoft's SDK from the
// test server, whose Key Vault accepts only a token for the resource its
// challenge names (so an endpoint taken as the token's audience would fail).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  startAzureServer,
  SECRETS_OFFICER,
  type AzureTestServer,
} from "../../../test/servers/azure/index.ts";
import { convertEsoObject } from "../../api/eso.ts";
import { createProviderClient } from "../registry.ts";

const TENANT = "22222222-2222-2222-2222-222222222222";
let azure: AzureTestServer;
let clientId: string;

before(async () => {
  azure = await startAzureServer();
  azure.addVault("eso-kv", TENANT);
  clientId = azure.addApp({ tenant: TENANT, name: "eso-reader", clientSecret: "eso-client-secret" });
  azure.assignRole("eso-kv", { principal: clientId, actions: SECRETS_OFFICER });
  azure.putSecret("eso-kv", "db", "from-the-vault");
});

after(async () => {
  await azure?.close();
});

function esoStore(azurekv: Record<string, unknown>) {
  return convertEsoObject({
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: { name: "kv", namespace: "app" },
    spec: {
      provider: {
        azurekv: {
          vaultUrl: azure.vaultUrl("eso-kv"),
          tenantId: TENANT,
          authType: "ServicePrincipal",
          authSecretRef: { clientId: { name: "sp", key: "id" }, clientSecret: { name: "sp", key: "secret" } },
          ...azurekv,
        },
      },
    },
  });
}

/** `db` read with the converted store's provider section, as the service principal. */
async function read(provider: Record<string, unknown>) {
  const credentials: Record<string, string> = { id: clientId, secret: "eso-client-secret" };
  const kv = createProviderClient(provider, {
    storeName: "SecretStore/app/kv",
    namespace: "app",
    readCredential: (ref) => Promise.resolve(credentials[ref.key] ?? ""),
  });
  try {
    return await kv.read({ key: "db" });
  } finally {
    await kv.close();
  }
}

const customCloudConfig = () => ({
  ...azure.customCloudConfig,
  keyVaultEndpoint: "https://vault.elsewhere.example/",
  resourceManagerEndpoint: "https://management.elsewhere.example/",
});

void test("keyVaultEndpoint and resourceManagerEndpoint are dropped, and the store reads as in ESO", async () => {
  const result = esoStore({ useAzureSDK: true, customCloudConfig: customCloudConfig() });
  assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
  assert.deepEqual(
    result.dropped.map((d) => d.path),
    [
      "spec.provider.azurekv.customCloudConfig.keyVaultEndpoint",
      "spec.provider.azurekv.customCloudConfig.resourceManagerEndpoint",
    ],
  );
  assert.match(result.dropped[0]?.why ?? "", /the token's resource the one the vault's challenge names/);
  const provider = (result.object.spec as { provider: Record<string, unknown> }).provider;
  assert.deepEqual((provider.azurekv as Record<string, unknown>).customCloudConfig, azure.customCloudConfig);

  assert.equal((await read(provider)).data, "from-the-vault");
});

void test("AzureStackCloud without keyVaultDNSSuffix: the vault's domain is written out from vaultUrl", async () => {
  const result = esoStore({
    environmentType: "AzureStackCloud",
    useAzureSDK: true,
    customCloudConfig: { activeDirectoryEndpoint: azure.customCloudConfig.activeDirectoryEndpoint },
  });
  assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
  const provider = (result.object.spec as { provider: { azurekv: Record<string, unknown> } }).provider;
  assert.deepEqual(provider.azurekv.customCloudConfig, azure.customCloudConfig);
  assert.equal((await read(provider)).data, "from-the-vault");
});

void test("a customCloudConfig without useAzureSDK: true is refused, as ESO refuses the store", () => {
  for (const useAzureSDK of [undefined, false]) {
    const result = esoStore({
      customCloudConfig: customCloudConfig(),
      ...(useAzureSDK === undefined ? {} : { useAzureSDK }),
    });
    assert.ok(!result.ok);
    assert.deepEqual(result.problems, [
      "spec.provider.azurekv.customCloudConfig: ESO refuses this store: it requires useAzureSDK: true",
    ]);
  }
});
