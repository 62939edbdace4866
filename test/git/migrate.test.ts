// refsync migrate on real repositories, against the fake store and the Vault,
// AWS, Google and Azure Key Vault protocol test servers through the real providers. The migrated
// branch must render (deferred mode) to ExternalSecrets that resolve, through
// the same providers, to exactly the values the plaintext Secrets held.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
import { migrateCommand } from "../../src/cli/migrate.ts";
import { migrate, type MigrateOptions } from "../../src/git/migrate.ts";
import { MigrateError } from "../../src/errors.ts";
import { extractValue } from "../../src/providers/extract.ts";
import { createProviderClient } from "../../src/providers/registry.ts";
import type { ProviderClient } from "../../src/providers/types.ts";
import type { ProviderName } from "../../src/refs/reference.ts";
import { runRender } from "../../src/cli/render.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import { SECRETS_OFFICER, startAzureServer, type AzureTestServer } from "../servers/azure/index.ts";
import { startGcpServer, type GcpTestServer } from "../servers/gcp/index.ts";
import { startVaultServer, type VaultTestServer } from "../servers/vault/index.ts";
import { createRepo, type TestRepo } from "./repo.ts";
import { collector } from "./io.ts";

const VALUES = {
  password: "pl41n-db-password",
  username: "app-user",
  token: "tok-5e6f7a8b",
  crt: "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
};
// Not UTF-8: must travel as base64 and come back as the same bytes.
const BINARY_KEY = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff, 0x00, 0x80]);

/** The values each Secret holds, as Kubernetes would store them. */
const EXPECTED: Record<string, Record<string, Buffer>> = {
  "prod/db": {
    password: Buffer.from(VALUES.password),
    username: Buffer.from(VALUES.username),
    token: Buffer.from(VALUES.token),
  },
  tls: { "tls.crt": Buffer.from(VALUES.crt), "tls.key": BINARY_KEY },
};

// A data value that stringData overrides: it must not stay behind either.
const SHADOWED = Buffer.from("shadowed-user").toString("base64");

const DB_SECRET = `# Database credentials (migrated by refsync)
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod # the production namespace
type: Opaque
stringData:
  # the application's password
  password: ${VALUES.password}
  username: ${VALUES.username}
data:
  token: ${Buffer.from(VALUES.token).toString("base64")}
  username: ${SHADOWED} # overridden by stringData, as in Kubernetes
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
spec:
  template:
    spec:
      containers:
      - name: api
        image: api:1
`;

function plantRepo(): TestRepo {
  const repo = createRepo("refsync-migrate-");
  repo.write("apps/db/secret.yaml", DB_SECRET);
  repo.write(
    "apps/tls/secret.yaml",
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ${Buffer.from(VALUES.crt).toString("base64")}\n  tls.key: ${BINARY_KEY.toString("base64")}\n---\n${DEPLOYMENT}`,
  );
  repo.write("apps/api/deployment.yaml", DEPLOYMENT);
  repo.write(
    "charts/web/templates/secret.yaml",
    `{{- if .Values.enabled }}\napiVersion: v1\nkind: Secret\nstringData:\n  password: {{ .Values.password }}\n{{- end }}\n`,
  );
  repo.commit("plaintext secrets", "2024-01-01T00:00:00Z");
  return repo;
}

function assertNoValue(text: string): void {
  for (const v of [...Object.values(VALUES), VALUES.crt.split("\n")[1]!])
    assert.ok(!text.includes(v), "a value leaked");
}

interface Backend {
  name: string;
  provider: ProviderName;
  spec: Record<string, unknown>;
  client(): ProviderClient;
}

/** Renders the migrated tree with `refsync render` and resolves each ExternalSecret through the provider. */
async function resolveRendered(
  repo: TestRepo,
  backend: Backend,
): Promise<Record<string, Record<string, Buffer>>> {
  // `refsync render` as a user runs it: deferred mode, no configuration needed.
  const io = collector();
  const code = await runRender([join(repo.dir, "apps")], undefined, { ...io, env: {} });
  assert.equal(code, 0, io.err());
  const rendered = { output: io.out() };
  const client = backend.client();
  const resolved: Record<string, Record<string, Buffer>> = {};
  for (const doc of parseAllDocuments(rendered.output)) {
    const object = doc.toJS() as { kind?: string; metadata?: { name?: string } };
    if (object.kind === "Secret") assert.fail(`a Secret still renders as a Secret: ${object.metadata?.name}`);
    if (object.kind !== "ExternalSecret") continue;
    const es = object as ExternalSecret;
    assert.equal(es.spec.secretStoreRef?.name, backend.name);
    assert.equal(es.spec.target?.template?.data, undefined, "whole-value references need no template");
    const values: Record<string, Buffer> = {};
    for (const d of es.spec.data ?? []) {
      const value = await client.read({ key: d.remoteRef.key });
      values[d.secretKey] = Buffer.from(extractValue(value, { store: backend.name, ...d.remoteRef }));
    }
    resolved[[es.metadata.namespace, es.metadata.name].filter(Boolean).join("/")] = values;
  }
  await client.close();
  return resolved;
}

const options = (
  repo: TestRepo,
  backend: Backend,
  client: ProviderClient,
  extra: Partial<MigrateOptions> = {},
): MigrateOptions => ({
  dir: repo.dir,
  store: backend.name,
  provider: backend.provider,
  client,
  pathPrefix: "migrated",
  branch: "refsync/migrate",
  ...extra,
});

let vault: VaultTestServer;
let aws: AwsTestServer;
let gcp: GcpTestServer;
let azure: AzureTestServer;
const backends: Backend[] = [];

before(async () => {
  vault = await startVaultServer();
  vault.root.mountKv("secret", 2);
  aws = await startAwsServer();
  const keys = aws.addUser({ name: "migrator", read: ["migrated/*"], write: ["migrated/*"] });
  gcp = await startGcpServer();
  const migrator = "migrator@refsync-test.iam.gserviceaccount.com";
  gcp.addServiceAccount(migrator);
  gcp.bind({ member: `serviceAccount:${migrator}`, role: "admin", secrets: ["migrated_*"] });
  const gcpKey = gcp.createKey(migrator);
  azure = await startAzureServer();
  const azureTenant = "66666666-6666-6666-6666-666666666666";
  azure.addVault("migrate-kv", azureTenant);
  const azureMigrator = azure.addApp({
    tenant: azureTenant,
    name: "migrator",
    clientSecret: "migrator-secret",
  });
  azure.assignRole("migrate-kv", { principal: azureMigrator, actions: SECRETS_OFFICER });
  const fakeClient = createProviderClient(
    { fake: {} },
    { storeName: "fake", readCredential: () => Promise.reject(new Error("no credentials")) },
  );
  backends.push(
    // One fake client for the whole suite: its data lives in memory.
    {
      name: "fake",
      provider: "fake",
      spec: { fake: {} },
      client: () => fakeClient,
    },
    {
      name: "vault-main",
      provider: "vault",
      spec: {
        vault: {
          server: vault.url,
          path: "secret",
          auth: { tokenSecretRef: { name: "vault", key: "token", namespace: "x" } },
        },
      },
      client: () =>
        createProviderClient(backends[1]!.spec, {
          storeName: "vault-main",
          readCredential: () => Promise.resolve(vault.rootToken),
        }),
    },
    {
      name: "aws-main",
      provider: "awssecrets",
      spec: {
        aws: {
          region: aws.region,
          endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint },
          auth: {
            secretRef: {
              accessKeyIDSecretRef: { name: "k", key: "id" },
              secretAccessKeySecretRef: { name: "k", key: "secret" },
            },
          },
        },
      },
      client: () =>
        createProviderClient(backends[2]!.spec, {
          storeName: "aws-main",
          readCredential: (ref) =>
            Promise.resolve(ref.key === "id" ? keys.accessKeyId : keys.secretAccessKey),
        }),
    },
    {
      name: "gcp-main",
      provider: "gcpsm",
      spec: {
        gcpsm: {
          projectID: gcp.projectID,
          endpoints: { secretManager: gcp.secretManager },
          caBundle: gcp.caBundle,
          auth: { secretRef: { secretAccessKeySecretRef: { name: "k", key: "key.json" } } },
        },
      },
      client: () =>
        createProviderClient(backends[3]!.spec, {
          storeName: "gcp-main",
          readCredential: () => Promise.resolve(gcpKey),
        }),
    },
    {
      name: "azure-main",
      provider: "azurekv",
      spec: {
        azurekv: {
          vaultUrl: azure.vaultUrl("migrate-kv"),
          tenantId: azureTenant,
          customCloudConfig: {
            activeDirectoryEndpoint: azure.authorityHost,
            keyVaultDNSSuffix: ".vault.localhost",
          },
          authType: "ServicePrincipal",
          authSecretRef: { clientId: { name: "sp", key: "id" }, clientSecret: { name: "sp", key: "secret" } },
        },
      },
      client: () =>
        createProviderClient(backends[4]!.spec, {
          storeName: "azure-main",
          readCredential: (ref) => Promise.resolve(ref.key === "id" ? azureMigrator : "migrator-secret"),
        }),
    },
  );
});

after(async () => {
  await vault?.stop();
  await aws?.close();
  await gcp?.close();
  await azure?.close();
});

/** The backend key migrate writes for `migrated/<path>` (Google secret ids join with `_`, Key Vault names with `-`). */
const keyOf = (backend: Backend, path: string) =>
  `migrated/${path}`.replaceAll(
    "/",
    backend.provider === "gcpsm" ? "_" : backend.provider === "azurekv" ? "-" : "/",
  );

for (const name of ["fake", "vault-main", "aws-main", "gcp-main", "azure-main"]) {
  void describe(`refsync migrate into ${name}`, () => {
    let repo: TestRepo;
    let backend: Backend;
    before(() => {
      repo = plantRepo();
      backend = backends.find((b) => b.name === name)!;
    });
    after(() => repo.remove());

    void it("moves every literal into the backend and commits references on a new branch", async () => {
      const client = backend.client();
      const result = await migrate(options(repo, backend, client));
      await client.close();
      assert.deepEqual(
        result.plan.map((p) => `${p.file} ${p.object} ${p.key} ${p.fields.join(",")}`),
        [
          `apps/db/secret.yaml Secret/prod/db ${keyOf(backend, "prod/db")} token,password,username`,
          `apps/tls/secret.yaml Secret/tls ${keyOf(backend, "tls")} tls.crt,tls.key`,
        ],
      );
      assert.deepEqual(result.writes, [
        { key: keyOf(backend, "prod/db"), outcome: "created" },
        { key: keyOf(backend, "tls"), outcome: "created" },
      ]);
      assert.deepEqual(result.skipped, ["charts/web/templates/secret.yaml"]);
      assert.equal(repo.git("rev-parse", "--abbrev-ref", "HEAD"), "refsync/migrate");
      assert.equal(repo.git("status", "--porcelain"), "");

      const secret = readFileSync(join(repo.dir, "apps/db/secret.yaml"), "utf8");
      for (const comment of [
        "# Database credentials",
        "# the production namespace",
        "# the application's password",
      ]) {
        assert.ok(secret.includes(comment), `comment kept: ${comment}`);
      }
      assert.match(
        secret,
        new RegExp(
          `password: ref\\+${backend.provider}://${keyOf(backend, "prod/db")}\\?store=${backend.name}#password`,
        ),
      );
      assert.ok(!/^data:/m.test(secret), "emptied data map removed");
      assert.ok(!secret.includes(SHADOWED), "a shadowed data value is removed too");
      // The Deployment after the tls Secret keeps its exact text.
      assert.ok(readFileSync(join(repo.dir, "apps/tls/secret.yaml"), "utf8").endsWith(`---\n${DEPLOYMENT}`));

      const message = repo.git("log", "-1", "--format=%B");
      assert.match(message, /move 5 value\(s\) of 2 Secret\(s\) to /);
      assert.match(
        message,
        new RegExp(
          `apps/db/secret\\.yaml: Secret/prod/db: token, password, username -> .*:${keyOf(backend, "prod/db")}`,
        ),
      );
      assertNoValue(
        message +
          repo.git("show", "HEAD:apps/db/secret.yaml") +
          repo.git("show", "HEAD:apps/tls/secret.yaml"),
      );
    });

    void it("the migrated branch renders to ExternalSecrets that resolve to the same values", async () => {
      assert.deepEqual(await resolveRendered(repo, backend), EXPECTED);
    });

    void it("a re-run on the original branch finds the values already there and changes nothing in the backend", async () => {
      repo.git("checkout", "-q", "main");
      const client = backend.client();
      const result = await migrate(
        options(repo, backend, client, { branch: "refsync/again", checkout: false }),
      );
      await client.close();
      assert.deepEqual(
        result.writes.map((w) => w.outcome),
        ["unchanged", "unchanged"],
      );
      assert.equal(
        repo.git("rev-parse", "refsync/again^{tree}"),
        repo.git("rev-parse", "refsync/migrate^{tree}"),
      );
    });
  });
}

void describe("refsync migrate safety", () => {
  let repo: TestRepo;
  before(() => {
    repo = plantRepo();
  });
  after(() => repo.remove());

  void it("--dry-run plans without writing or committing", async () => {
    const backend = backends[0]!;
    const client = createProviderClient(
      { fake: {} },
      { storeName: "fake", readCredential: () => Promise.reject(new Error("none")) },
    );
    const result = await migrate(options(repo, backend, client, { dryRun: true }));
    assert.equal(result.plan.length, 2);
    assert.deepEqual(result.writes, []);
    assert.deepEqual(await client.list({}), []);
    assert.throws(() => repo.git("rev-parse", "--verify", "-q", "refsync/migrate"));
  });

  void it("refuses a dirty tree", async () => {
    writeFileSync(join(repo.dir, "apps/api/deployment.yaml"), DEPLOYMENT + "# edit\n");
    try {
      const client = backends[0]!.client();
      await assert.rejects(
        migrate(options(repo, backends[0]!, client)),
        /uncommitted changes \(apps\/api\/deployment\.yaml\)/,
      );
    } finally {
      repo.git("checkout", "-q", "--", "apps/api/deployment.yaml");
    }
  });

  void it("a conflicting backend value stops everything before any write", async () => {
    const backend = backends[2]!;
    aws.putSecret("migrated/tls", JSON.stringify({ "tls.crt": "something else" }));
    aws.clearRequests();
    const client = backend.client();
    const error = await migrate(options(repo, backend, client, { pathPrefix: "migrated" })).catch(
      (e: unknown) => e,
    );
    await client.close();
    assert.ok(error instanceof MigrateError);
    assert.match(
      error.message,
      /nothing written; conflicts:\n {2}"migrated\/tls" \(from apps\/tls\/secret\.yaml Secret\/tls\) already exists/,
    );
    assertNoValue(error.message);
    assert.equal(aws.count("CreateSecret") + aws.count("PutSecretValue"), 0);
    assert.throws(() => repo.git("rev-parse", "--verify", "-q", "refsync/migrate"));
    aws.deleteSecret("migrated/tls");
  });

  void it("a failure halfway lists the writes made, leaves the repo untouched, and a re-run completes", async () => {
    const limited = aws.addUser({ name: "limited", read: ["halfway/*"], write: ["halfway/prod/*"] });
    const spec = { ...backends[2]!.spec };
    const client = createProviderClient(spec, {
      storeName: "aws-main",
      readCredential: (ref) =>
        Promise.resolve(ref.key === "id" ? limited.accessKeyId : limited.secretAccessKey),
    });
    const head = repo.git("rev-parse", "HEAD");
    const error = await migrate(options(repo, backends[2]!, client, { pathPrefix: "halfway" })).catch(
      (e: unknown) => e,
    );
    await client.close();
    assert.ok(error instanceof MigrateError, String(error));
    assert.match(error.message, /writing "halfway\/tls" failed: .*the repository is unchanged/);
    assert.deepEqual(error.writes, [{ key: "halfway/prod/db", outcome: "created" }]);
    assert.equal(repo.git("rev-parse", "HEAD"), head);
    assert.equal(repo.git("status", "--porcelain"), "");
    assert.throws(() => repo.git("rev-parse", "--verify", "-q", "refsync/migrate"));

    const full = aws.addUser({ name: "full", read: ["halfway/*"], write: ["halfway/*"] });
    const retry = createProviderClient(spec, {
      storeName: "aws-main",
      readCredential: (ref) => Promise.resolve(ref.key === "id" ? full.accessKeyId : full.secretAccessKey),
    });
    const result = await migrate(
      options(repo, backends[2]!, retry, { pathPrefix: "halfway", checkout: false }),
    );
    await retry.close();
    assert.deepEqual(result.writes, [
      { key: "halfway/prod/db", outcome: "unchanged" },
      { key: "halfway/tls", outcome: "created" },
    ]);
    assert.equal(repo.git("rev-parse", "--abbrev-ref", "HEAD"), "main");
  });

  void it("CLI: reads the store from refsync.yaml and prints no value", async () => {
    const cli = createRepo("refsync-migrate-cli-");
    try {
      cli.write("apps/db/secret.yaml", DB_SECRET);
      cli.write(
        "refsync.yaml",
        `stores:\n  demo:\n    provider: { fake: {} }\ndefaultStores: { fake: demo }\n`,
      );
      cli.commit("init", "2024-01-01T00:00:00Z");
      const io = collector();
      assert.equal(
        await migrateCommand([cli.dir, "--store", "demo", "--path-prefix", "apps", "--dry-run"], io),
        0,
        io.err(),
      );
      assert.match(
        io.out(),
        /apps\/db\/secret\.yaml: Secret\/prod\/db: token, password, username -> apps\/prod\/db\ndry run/,
      );
      assert.equal(
        await migrateCommand([cli.dir, "--store", "demo", "--path-prefix", "apps"], io),
        0,
        io.err(),
      );
      assert.match(io.out(), /created: apps\/prod\/db\ncommitted [0-9a-f]{12} on branch refsync\/migrate/);
      // The default store of its provider needs no store= parameter.
      assert.match(
        readFileSync(join(cli.dir, "apps/db/secret.yaml"), "utf8"),
        /password: ref\+fake:\/\/apps\/prod\/db#password/,
      );
      assertNoValue(io.out() + io.err());
      assert.equal(await migrateCommand([cli.dir, "--store", "nope", "--path-prefix", "x"], io), 2);
      assert.match(io.err(), /store "nope" is not defined/);
    } finally {
      cli.remove();
    }
  });
});
