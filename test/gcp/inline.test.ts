// The plugin's inline mode resolves ref+gcpsm:// through the gcpsm provider
// with the sidecar's own identity (Application Default Credentials: here a
// key file named by GOOGLE_APPLICATION_CREDENTIALS), only where the
// operator's policy lets the Argo CD project read. AVP's GCP placeholders
// (`<path:projects/<p>/secrets/<id>#<id>[#<version>]>`) read the same secrets,
// inline, deferred and after `refsync convert`.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseAllDocuments } from "yaml";
import type { PluginConfig } from "../../src/render/config.ts";
import { convertYaml } from "../../src/git/convert.ts";
import { render } from "../../src/render/render.ts";
import { startGcpServer, type GcpTestServer } from "../servers/gcp/index.ts";
import { gcpsmSpec } from "./fixtures.ts";

const MANIFEST = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: ref+gcpsm://team-a-db#password
  pinned: ref+gcpsm://team-a-db?version=1#password
  nested: ref+gcpsm://team-a-db#/nested/k
  token: ref+gcpsm://team-a-token
  url: postgres://app:ref+gcpsm://team-a-db#password+@db:5432/app
`;

let gcp: GcpTestServer;
let dir: string;
let config: PluginConfig;
const requester = { project: "team-a", namespace: "team-a" };
const savedEnv = { ...process.env };
const SIDECAR = "argocd-repo-server@refsync-test.iam.gserviceaccount.com";

before(async () => {
  gcp = await startGcpServer();
  gcp.addServiceAccount(SIDECAR);
  // IAM lets the sidecar read everything; refsync's policy is what narrows it per project.
  gcp.bind({ member: `serviceAccount:${SIDECAR}`, role: "secretAccessor", secrets: ["*"] });
  gcp.putSecret("team-a-db", JSON.stringify({ password: "inline-old" }));
  gcp.putSecret("team-a-db", JSON.stringify({ password: "inline-pw", nested: { k: "inline-deep" } }));
  gcp.putSecret("team-a-token", "inline-token");
  gcp.putSecret("team-b-db", JSON.stringify({ password: "inline-pw-b" }));
  dir = await mkdtemp(join(tmpdir(), "refsync-gcp-inline-"));
  await writeFile(join(dir, "key.json"), gcp.createKey(SIDECAR));
  process.env["GOOGLE_APPLICATION_CREDENTIALS"] = join(dir, "key.json");
  config = {
    stores: {
      gcp: { provider: { gcpsm: gcpsmSpec(gcp) } },
    },
    defaultStores: { gcpsm: "gcp" },
    modes: ["deferred", "inline"],
    // Secret ids are one path segment: the policy names them.
    policy: [{ projects: ["team-a"], stores: ["gcp"], paths: ["team-a-db", "team-a-token"] }],
  };
});

after(async () => {
  process.env = savedEnv;
  await rm(dir, { recursive: true, force: true });
  await gcp?.close();
});

function values(output: string): Record<string, string> {
  const [secret] = parseAllDocuments(output).map(
    (doc) => doc.toJS() as { stringData?: Record<string, string> },
  );
  return secret?.stringData ?? {};
}

void test("substitutes values: properties, a pinned version, a pointer, a whole text secret, embedded", async () => {
  await writeFile(join(dir, "secret.yaml"), MANIFEST);
  gcp.clearRequests();
  const result = await render({ input: join(dir, "secret.yaml"), mode: "inline", config, requester });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  assert.deepEqual(values(result.output), {
    password: "inline-pw",
    pinned: "inline-old",
    nested: "inline-deep",
    token: "inline-token",
    url: "postgres://app:inline-pw@db:5432/app",
  });
  const reads = gcp.requests.filter((r) => r.method === "AccessSecretVersion");
  assert.ok(reads.every((r) => r.principal === `serviceAccount:${SIDECAR}` && r.status === "OK"));
  // One call per distinct secret version: team-a-db latest and 1, team-a-token latest.
  assert.equal(reads.length, 3);
});

void test("refuses a path the project may not read, before asking Google, and never prints a value", async () => {
  await writeFile(join(dir, "other.yaml"), MANIFEST.replaceAll("team-a-", "team-b-"));
  gcp.clearRequests();
  const result = await render({ input: join(dir, "other.yaml"), mode: "inline", config, requester });
  assert.equal(result.ok, false);
  const errors = result.ok ? "" : result.errors.join("\n");
  assert.match(errors, /policy denies project "team-a".*team-b-db/);
  assert.doesNotMatch(errors, /inline-pw-b/);
  assert.equal(gcp.requests.length, 0);
});

/** AVP's GCP placeholders on a Secret: stringData is text; data keeps AVP's rule (the value inserted as it is). */
function avpManifest(project: string): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: avp-db
stringData:
  whole: <path:projects/${project}/secrets/team-a-token#team-a-token>
  password: <path:projects/${project}/secrets/team-a-db#team-a-db | jsonPath {.password}>
  pinned: <path:projects/${project}/secrets/team-a-db#team-a-db#1 | jsonPath {.password}>
data:
  encoded: <path:projects/${project}/secrets/team-a-token#team-a-token | base64encode>
---
apiVersion: v1
kind: Secret
metadata:
  name: avp-generic
  annotations:
    avp.kubernetes.io/path: projects/${project}/secrets/team-a-token
stringData:
  token: <team-a-token>
`;
}

void test("AVP's GCP placeholders: inline substitutes the whole payload; deferred and convert read the same secret", async () => {
  await writeFile(join(dir, "avp.yaml"), avpManifest(gcp.projectID));
  const full = (id: string) => `projects/${gcp.projectID}/secrets/${id}`;
  const avpConfig: PluginConfig = {
    ...config,
    avp: { provider: "gcpsm", store: "gcp" },
    policy: [{ projects: ["team-a"], stores: ["gcp"], paths: [full("team-a-db"), full("team-a-token")] }],
  };
  gcp.clearRequests();
  const result = await render({ input: join(dir, "avp.yaml"), mode: "inline", config: avpConfig, requester });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  const [explicit, generic] = parseAllDocuments(result.output).map(
    (doc) => doc.toJS() as { stringData?: Record<string, string>; data?: Record<string, string> },
  );
  assert.deepEqual(explicit?.stringData, {
    whole: "inline-token",
    password: "inline-pw",
    pinned: "inline-old",
  });
  assert.deepEqual(explicit?.data, { encoded: Buffer.from("inline-token").toString("base64") });
  assert.deepEqual(generic?.stringData, { token: "inline-token" });
  // One read per distinct secret version (team-a-token latest, team-a-db latest and 1), by full name.
  const reads = gcp.requests.filter((r) => r.method === "AccessSecretVersion");
  assert.deepEqual(reads.map((r) => r.resource).sort(), [
    `${full("team-a-db")}/versions/1`,
    `${full("team-a-db")}/versions/latest`,
    `${full("team-a-token")}/versions/latest`,
  ]);

  // Deferred and convert have no jsonPath: the same placeholders, reading whole secrets.
  const plain = avpManifest(gcp.projectID).replaceAll(" | jsonPath {.password}", "");
  await writeFile(join(dir, "avp-plain.yaml"), plain);
  const plainInline = await render({
    input: join(dir, "avp-plain.yaml"),
    mode: "inline",
    config: avpConfig,
    requester,
  });
  assert.ok(plainInline.ok, plainInline.ok ? "" : plainInline.errors.join("\n"));
  assert.match(plainInline.output, /password: '\{"password":"inline-pw"/);

  // Deferred: ExternalSecrets whose keys are the same resource names, without a value.
  const deferred = await render({
    input: join(dir, "avp-plain.yaml"),
    mode: "deferred",
    config: avpConfig,
    requester,
  });
  assert.ok(deferred.ok, deferred.ok ? "" : deferred.errors.join("\n"));
  assert.doesNotMatch(deferred.output, /inline-/);
  const keys = parseAllDocuments(deferred.output)
    .map(
      (doc) =>
        doc.toJS() as { kind: string; spec?: { data?: { remoteRef: { key: string; version?: string } }[] } },
    )
    .filter((o) => o.kind === "ExternalSecret")
    .flatMap((o) => (o.spec?.data ?? []).map((d) => `${d.remoteRef.key}@${d.remoteRef.version ?? ""}`));
  assert.deepEqual([...new Set(keys)].sort(), [
    `${full("team-a-db")}@`,
    `${full("team-a-db")}@1`,
    `${full("team-a-token")}@`,
  ]);

  // Convert: ref+gcpsm:// references of the whole secret, which inline renders to the same values.
  const converted = convertYaml(plain, "avp-plain.yaml", { provider: "gcpsm", store: "gcp" });
  assert.match(converted.text, new RegExp(`whole: ref\\+gcpsm://${full("team-a-token")}\\?store=gcp\\n`));
  assert.match(converted.text, new RegExp(`token: ref\\+gcpsm://${full("team-a-token")}\\?store=gcp\\n`));
  await writeFile(join(dir, "converted.yaml"), converted.text);
  const again = await render({
    input: join(dir, "converted.yaml"),
    mode: "inline",
    config: avpConfig,
    requester,
  });
  assert.ok(again.ok, again.ok ? "" : again.errors.join("\n"));
  // The same values and references (convert drops the AVP path annotation it no longer needs).
  const substituted = (output: string) =>
    parseAllDocuments(output).map((doc) => {
      const o = doc.toJS() as { data?: unknown; stringData?: unknown; metadata: { annotations?: object } };
      return [o.data, o.stringData, (o.metadata.annotations as Record<string, string>)["refsync.dev/refs"]];
    });
  assert.deepEqual(substituted(again.output), substituted(plainInline.output));
});

void test("AVP's GCP placeholders: a key other than the secret id and another project are refused, naming what to fix", async () => {
  const avpConfig: PluginConfig = {
    ...config,
    avp: { provider: "gcpsm", store: "gcp" },
    policy: [{ projects: ["team-a"], stores: ["gcp"], paths: ["projects/"] }],
  };
  await writeFile(
    join(dir, "avp-bad.yaml"),
    `apiVersion: v1
kind: Secret
metadata:
  name: bad
stringData:
  key: <path:projects/${gcp.projectID}/secrets/team-a-db#password>
`,
  );
  gcp.clearRequests();
  const wrongKey = await render({
    input: join(dir, "avp-bad.yaml"),
    mode: "inline",
    config: avpConfig,
    requester,
  });
  assert.equal(wrongKey.ok, false);
  assert.match(
    wrongKey.ok ? "" : wrongKey.errors.join("\n"),
    /key "password" of "projects\/[^"]+\/secrets\/team-a-db" reads nothing \(use the key "team-a-db"/,
  );
  assert.equal(gcp.requests.length, 0);
  await writeFile(
    join(dir, "avp-project.yaml"),
    `apiVersion: v1
kind: Secret
metadata:
  name: elsewhere
stringData:
  key: <path:projects/another-project/secrets/team-a-db#team-a-db>
`,
  );
  const elsewhere = await render({
    input: join(dir, "avp-project.yaml"),
    mode: "inline",
    config: avpConfig,
    requester,
  });
  assert.equal(elsewhere.ok, false);
  assert.match(elsewhere.ok ? "" : elsewhere.errors.join("\n"), /outside the store's project/);
  assert.doesNotMatch(elsewhere.ok ? "" : elsewhere.errors.join("\n"), /inline-pw/);
});

void test("AVP's GCP placeholders by project number: read with the store's projectNumber, refused without", async () => {
  await writeFile(join(dir, "avp-number.yaml"), avpManifest(gcp.projectNumber));
  const full = (id: string) => `projects/${gcp.projectNumber}/secrets/${id}`;
  const policy = [
    { projects: ["team-a"], stores: ["gcp"], paths: [full("team-a-db"), full("team-a-token")] },
  ];
  const gcpsm = gcpsmSpec(gcp);
  const byNumber: PluginConfig = {
    ...config,
    stores: { gcp: { provider: { gcpsm: { ...gcpsm, projectNumber: gcp.projectNumber } } } },
    avp: { provider: "gcpsm", store: "gcp" },
    policy,
  };
  gcp.clearRequests();
  const result = await render({
    input: join(dir, "avp-number.yaml"),
    mode: "inline",
    config: byNumber,
    requester,
  });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  const [explicit, generic] = parseAllDocuments(result.output).map(
    (doc) => doc.toJS() as { stringData?: Record<string, string>; data?: Record<string, string> },
  );
  assert.deepEqual(explicit?.stringData, {
    whole: "inline-token",
    password: "inline-pw",
    pinned: "inline-old",
  });
  assert.deepEqual(explicit?.data, { encoded: Buffer.from("inline-token").toString("base64") });
  assert.deepEqual(generic?.stringData, { token: "inline-token" });
  const reads = gcp.requests.filter((r) => r.method === "AccessSecretVersion");
  assert.equal(reads.length, 3, "one read per distinct secret version");
  assert.ok(reads.every((r) => r.status === "OK"));

  // Without projectNumber the store cannot tell its number from another project's: refused, saying what to set.
  gcp.clearRequests();
  const refused = await render({
    input: join(dir, "avp-number.yaml"),
    mode: "inline",
    config: { ...byNumber, stores: { gcp: { provider: { gcpsm } } } },
    requester,
  });
  assert.equal(refused.ok, false);
  assert.match(
    refused.ok ? "" : refused.errors.join("\n"),
    /outside the store's project refsync-test \(if \d+ is its number, set spec\.provider\.gcpsm\.projectNumber\)/,
  );
  assert.equal(gcp.requests.length, 0);
});
