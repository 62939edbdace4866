/**
 * Issue 21's join, for the plugin: one inline render reads from Vault, AWS,
 * Azure Key Vault and Google Secret Manager test servers. Every request in
 * each server's request log has exactly one audit record naming it (by the
 * request ID the server answered with, where the protocol has one; by
 * operation otherwise), every record's request ID is one the server logged,
 * every record names the Argo CD application, and each request carries
 * refsync's attribution (Vault: X-Refsync-Subject; AWS, Azure, GCP: the user
 * agent). No value reaches the stream.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { REFSYNC_VERSION } from "../../src/providers/attribution.ts";
import type { KubernetesSecretReader } from "../../src/providers/types.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { Auditor, AuditWriter, verifyAudit, type ChainedRecord } from "../../src/store/audit.ts";
import { awsProviderSpec, staticKeysRef } from "../aws/fixtures.ts";
import { gcpsmSpec } from "../gcp/fixtures.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import { SECRETS_USER, startAzureServer, type AzureTestServer } from "../servers/azure/index.ts";
import { startGcpServer, type GcpTestServer } from "../servers/gcp/index.ts";
import { startVaultServer, type VaultTestServer } from "../servers/vault/index.ts";

const VALUE = "join-Passw0rd-4c2e";
const SECRET_ID = "join-approle-secret-9d1f";
const TENANT = "55555555-5555-4555-8555-555555555555";
const SIDECAR = "argocd-repo-server@refsync-test.iam.gserviceaccount.com";

let vault: VaultTestServer;
let aws: AwsTestServer;
let azure: AzureTestServer;
let gcp: GcpTestServer;
let awsKey: { accessKeyId: string; secretAccessKey: string };
let identity: string;
let dir: string;
const savedEnv = { ...process.env };

before(async () => {
  [vault, aws, azure, gcp] = await Promise.all([
    startVaultServer(),
    startAwsServer(),
    startAzureServer(),
    startGcpServer(),
  ]);
  vault.root.mountKv("secret", 2);
  vault.root.writePolicy("app", [{ path: "secret/data/team-a/*", capabilities: ["read"] }]);
  vault.root.enableAppRole();
  vault.root.addAppRole("app", { roleId: "role-join", secretIds: [SECRET_ID], policies: ["app"], ttl: 600 });
  awsKey = aws.addUser({ name: "plugin", read: ["team-a/*"] });
  azure.addVault("join-kv", TENANT);
  identity = azure.addManagedIdentity(TENANT, "sidecar");
  azure.assignRole("join-kv", { principal: identity, actions: SECRETS_USER });
  gcp.addServiceAccount(SIDECAR);
  gcp.bind({ member: `serviceAccount:${SIDECAR}`, role: "secretAccessor", secrets: ["*"] });
  for (const k of ["db", "api"]) {
    const json = JSON.stringify({ password: `${VALUE}-${k}` });
    vault.root.putSecret("secret", `team-a/${k}`, { password: `${VALUE}-${k}` });
    aws.putSecret(`team-a/${k}`, json);
    azure.putSecret("join-kv", `team-a-${k}`, json);
    gcp.putSecret(`team-a-${k}`, json);
  }
  dir = mkdtempSync(path.join(tmpdir(), "refsync-audit-join-"));
  writeFileSync(path.join(dir, "key.json"), gcp.createKey(SIDECAR));
  Object.assign(process.env, {
    GOOGLE_APPLICATION_CREDENTIALS: path.join(dir, "key.json"),
    IDENTITY_ENDPOINT: azure.msi.endpoint,
    IDENTITY_HEADER: azure.msi.header,
  });
});

after(async () => {
  process.env = savedEnv;
  await Promise.all([vault?.stop(), aws?.close(), azure?.close(), gcp?.close()]);
});

/** Store credentials from Secrets in "plugin", without a cluster. */
const kubernetes = (): Promise<KubernetesSecretReader> =>
  Promise.resolve({
    readSecret: (_ns: string, name: string) =>
      Promise.resolve({
        data: (name === "aws"
          ? { id: Buffer.from(awsKey.accessKeyId), secret: Buffer.from(awsKey.secretAccessKey) }
          : { "secret-id": Buffer.from(SECRET_ID) }) as Record<string, Uint8Array>,
      }),
    listSecrets: () => Promise.resolve([]),
  });

function config() {
  return parseConfig(
    JSON.stringify({
      stores: {
        vault: {
          provider: {
            vault: {
              server: vault.url,
              path: "secret",
              auth: {
                appRole: {
                  roleId: "role-join",
                  secretRef: { name: "approle", key: "secret-id", namespace: "plugin" },
                },
              },
            },
          },
        },
        aws: { provider: { aws: awsProviderSpec(aws, { auth: staticKeysRef("aws", "plugin") }) } },
        azure: {
          provider: {
            azurekv: {
              vaultUrl: azure.vaultUrl("join-kv"),
              authType: "ManagedIdentity",
              identityId: identity,
              customCloudConfig: azure.customCloudConfig,
            },
          },
        },
        gcp: { provider: { gcpsm: gcpsmSpec(gcp) } },
      },
      defaultStores: { vault: "vault", awssecrets: "aws", azurekv: "azure", gcpsm: "gcp" },
      modes: ["inline"],
      policy: [
        {
          projects: ["team-a"],
          stores: ["vault", "aws", "azure", "gcp"],
          paths: ["team-a/", ...["db", "api", "gone"].flatMap((k) => [`join-kv/team-a-${k}`, `team-a-${k}`])],
        },
      ],
    }),
    "refsync.yaml",
  );
}

const MANIFEST = ["db", "api", "gone"]
  .map(
    (k, i) => `apiVersion: v1
kind: Secret
metadata: {name: s${i}}
stringData:
  vault: ref+vault://team-a/${k}#password
  aws: ref+awssecrets://team-a/${k}#password
  azure: ref+azurekv://join-kv/team-a-${k}#password
  gcp: ref+gcpsm://team-a-${k}#password
`,
  )
  .join("---\n");

const ids = (r: ChainedRecord): string[] => r.requestId?.split(",") ?? [];

/** Each logged request with an id has exactly one record naming it; each record's ids were logged. */
function joinById(records: ChainedRecord[], logged: readonly { requestId?: string }[], what: string): void {
  const served = new Set(logged.map((l) => l.requestId).filter((id): id is string => id !== undefined));
  for (const id of served) {
    const naming = records.filter((r) => ids(r).includes(id));
    assert.equal(naming.length, 1, `${what}: request ${id} is named by ${naming.length} records`);
  }
  for (const r of records)
    for (const id of ids(r)) assert.ok(served.has(id), `${what}: record ${r.operation} names unknown ${id}`);
}

/** Each operation has as many records as the server logged requests. */
function joinByCount(records: ChainedRecord[], operations: string[], what: string): void {
  const count = (list: string[]) =>
    list.reduce<Record<string, number>>((m, op) => ({ ...m, [op]: (m[op] ?? 0) + 1 }), {});
  assert.deepEqual(count(records.map((r) => r.operation)), count(operations), what);
}

void test("every backend request of an inline render has exactly one audit record, joined by request ID", async () => {
  const file = path.join(dir, "audit.jsonl");
  const writer = new AuditWriter(`file:${file}`);
  const subjects = [
    { kind: "Application" as const, name: "shop", project: "team-a", revision: "abc123", path: "apps/shop" },
  ];
  vault.clearLog();
  aws.clearRequests();
  azure.clearRequests();
  gcp.clearRequests();
  const result = await render({
    input: "-",
    mode: "inline",
    config: config(),
    requester: { project: "team-a", namespace: "plugin" },
    stdin: () => Promise.resolve(MANIFEST),
    kubernetes,
    audit: { auditor: new Auditor(writer, { component: "plugin", version: "test" }), subjects },
  });
  writer.close();
  assert.equal(result.ok, false, "the missing secrets fail the render");
  const text = readFileSync(file, "utf8");
  assert.ok(!text.includes(VALUE), "a value reached the audit stream");
  assert.ok(verifyAudit([file]).ok);
  const records = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ChainedRecord);
  for (const r of records) assert.deepEqual(r.subjects, subjects, r.operation);
  const of = (provider: string) => records.filter((r) => r.provider === provider);

  // Vault: the login and every read (the missing one's 404 carries no request_id: counted).
  joinById(of("vault"), vault.requests, "vault");
  joinByCount(
    of("vault"),
    vault.requests.map((r) => (r.path.endsWith("/login") ? "login" : "read")),
    "vault",
  );
  assert.ok(
    of("vault").some((r) => r.operation === "login" && r.requestId && r.identity?.accessor),
    "the login record names its request and the token accessor",
  );
  for (const r of vault.requests)
    assert.equal(r.headers["x-refsync-subject"], `refsync/${REFSYNC_VERSION} app/shop`, r.path);

  // AWS: each HTTP request, by x-amzn-RequestId.
  joinById(of("awssecrets"), aws.requests, "aws");
  joinByCount(
    of("awssecrets"),
    aws.requests.map((r) => r.operation),
    "aws",
  );
  for (const r of aws.requests) assert.match(r.userAgent ?? "", /refsync\/\S+ app\/shop\b/);

  // Azure: the managed identity's token request, the challenge and each Key Vault request (x-ms-request-id).
  const keyVault = azure.requests.filter((r) => r.service === "vault");
  joinById(
    of("azurekv").filter((r) => r.operation !== "GetToken"),
    keyVault,
    "azure",
  );
  assert.equal(of("azurekv").length, azure.requests.length, "azure: one record per request");
  for (const r of keyVault) assert.match(r.userAgent ?? "", /^refsync\/\S+ .* app\/shop$/);

  // GCP: no request ID in the protocol; one record per request, by method.
  joinByCount(
    of("gcpsm"),
    gcp.requests.filter((r) => r.service === "secretmanager").map((r) => r.method),
    "gcp",
  );
  for (const r of gcp.requests.filter((g) => g.service === "secretmanager"))
    assert.match(r.userAgent ?? "", /^refsync\/\S+/);
});
