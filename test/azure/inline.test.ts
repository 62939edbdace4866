// The plugin's inline mode resolves ref+azurekv:// through the Azure Key
// Vault provider with the sidecar's own identity (here a managed identity,
// through the SDK's documented IDENTITY_ENDPOINT/IDENTITY_HEADER settings),
// only where the operator's policy lets the Argo CD project read.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseAllDocuments } from "yaml";
import type { PluginConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { SECRETS_USER, startAzureServer, type AzureTestServer } from "../servers/azure/index.ts";

const TENANT = "44444444-4444-4444-4444-444444444444";
const MANIFEST = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: ref+azurekv://inline-kv/team-a-db#password
  previous: ref+azurekv://inline-kv/team-a-db?version=VERSION#password
  url: postgres://app:ref+azurekv://inline-kv/team-a-db#password+@db:5432/app
`;

let azure: AzureTestServer;
let dir: string;
let config: PluginConfig;
let previous: string;
let identity: string;
const requester = { project: "team-a", namespace: "team-a" };
const savedEnv = { ...process.env };

before(async () => {
  azure = await startAzureServer();
  azure.addVault("inline-kv", TENANT);
  identity = azure.addManagedIdentity(TENANT, "sidecar");
  azure.assignRole("inline-kv", { principal: identity, actions: SECRETS_USER });
  previous = azure.putSecret("inline-kv", "team-a-db", JSON.stringify({ password: "inline-old" }));
  azure.putSecret("inline-kv", "team-a-db", JSON.stringify({ password: "inline-pw" }));
  azure.putSecret("inline-kv", "team-b-db", JSON.stringify({ password: "inline-pw-b" }));
  dir = await mkdtemp(join(tmpdir(), "refsync-azure-inline-"));
  config = {
    stores: {
      kv: {
        provider: {
          azurekv: {
            vaultUrl: azure.vaultUrl("inline-kv"),
            authType: "ManagedIdentity",
            identityId: identity,
            customCloudConfig: azure.customCloudConfig,
          },
        },
      },
    },
    defaultStores: { azurekv: "kv" },
    modes: ["deferred", "inline"],
    policy: [{ projects: ["team-a"], stores: ["kv"], paths: ["inline-kv/team-a-db"] }],
  };
  Object.assign(process.env, { IDENTITY_ENDPOINT: azure.msi.endpoint, IDENTITY_HEADER: azure.msi.header });
});

after(async () => {
  process.env = savedEnv;
  await rm(dir, { recursive: true, force: true });
  await azure?.close();
});

function values(output: string): Record<string, string> {
  const [secret] = parseAllDocuments(output).map(
    (doc) => doc.toJS() as { stringData?: Record<string, string> },
  );
  return secret?.stringData ?? {};
}

void test("substitutes values with the sidecar's managed identity: property, version, embedded; one read per version", async () => {
  await writeFile(join(dir, "secret.yaml"), MANIFEST.replace("VERSION", previous));
  azure.clearRequests();
  const result = await render({ input: join(dir, "secret.yaml"), mode: "inline", config, requester });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  assert.deepEqual(values(result.output), {
    password: "inline-pw",
    previous: "inline-old",
    url: "postgres://app:inline-pw@db:5432/app",
  });
  assert.equal(azure.count({ service: "vault", operation: "GetSecret", status: 200 }), 2);
  assert.equal(azure.count({ service: "msi", status: 200, principal: identity }), 1);
});

void test("refuses a path the project may not read, before asking Key Vault, and never prints a value", async () => {
  await writeFile(
    join(dir, "other.yaml"),
    MANIFEST.replaceAll("team-a-db", "team-b-db").replace("VERSION", previous),
  );
  azure.clearRequests();
  const result = await render({ input: join(dir, "other.yaml"), mode: "inline", config, requester });
  assert.equal(result.ok, false);
  const errors = result.ok ? "" : result.errors.join("\n");
  assert.match(errors, /policy denies project "team-a".*inline-kv\/team-b-db/);
  assert.doesNotMatch(errors, /inline-pw-b/);
  assert.equal(azure.requests.filter((r) => r.service === "vault").length, 0);
});

void test("a store whose reference names another vault is refused", async () => {
  await writeFile(
    join(dir, "vault.yaml"),
    MANIFEST.replace(
      "ref+azurekv://inline-kv/team-a-db#password\n",
      "ref+azurekv://other-kv/team-a-db#password\n",
    ).replace("VERSION", previous),
  );
  const result = await render({
    input: join(dir, "vault.yaml"),
    mode: "inline",
    config: { ...config, policy: [{ projects: ["team-a"], stores: ["kv"], paths: [""] }] },
    requester,
  });
  assert.equal(result.ok, false);
  assert.match(
    result.ok ? "" : result.errors.join("\n"),
    /names vault "other-kv", but the store reads vault "inline-kv"/,
  );
});
