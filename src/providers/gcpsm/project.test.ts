// A gcpsm store without projectID, as ESO: the project comes from workloadIdentity's clusterProjectID,
// else the environment (GOOGLE_CLOUD_PROJECT, then the metadata server, through google-auth-library);
// a key file's store must name it. Through the real client (gRPC), with Application Default
// Credentials from a key file, against the protocol test server.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import { gcpsmSpec } from "../../../test/gcp/fixtures.ts";
import { startGcpServer, type GcpTestServer } from "../../../test/servers/gcp/index.ts";
import { InvalidSpecError } from "../../errors.ts";
import { createProviderClient } from "../registry.ts";
import { projectOf } from "./credentials.ts";

const READER = "reader@refsync-test.iam.gserviceaccount.com";
const savedEnv = { ...process.env };
let gcp: GcpTestServer;
let dir: string;

before(async () => {
  gcp = await startGcpServer();
  gcp.addServiceAccount(READER);
  for (const role of ["secretAccessor", "viewer"] as const) {
    gcp.bind({ member: `serviceAccount:${READER}`, role, secrets: ["*"] });
  }
  gcp.putSecret("app-db", "the-value");
  dir = await mkdtemp(join(tmpdir(), "refsync-gcpsm-project-"));
  // The key file names another project, so that only GOOGLE_CLOUD_PROJECT can name the server's.
  const key = { ...(JSON.parse(gcp.createKey(READER)) as object), project_id: "key-file-project" };
  await writeFile(join(dir, "key.json"), JSON.stringify(key));
});

afterEach(() => {
  process.env = { ...savedEnv };
});

after(async () => {
  process.env = savedEnv;
  await rm(dir, { recursive: true, force: true });
  await gcp?.close();
});

/** A store with the controller's own credentials (ADC: the key file) and no projectID. */
function store() {
  process.env["GOOGLE_APPLICATION_CREDENTIALS"] = join(dir, "key.json");
  const { projectID: _, ...spec } = gcpsmSpec(gcp);
  return createProviderClient(
    { gcpsm: spec },
    { storeName: "SecretStore/test/gcp", readCredential: () => Promise.reject(new Error("no Secret")) },
  );
}

void test("projectID unset: GOOGLE_CLOUD_PROJECT names the project, for ids and full names", async () => {
  process.env["GOOGLE_CLOUD_PROJECT"] = gcp.projectID;
  const client = store();
  const text = (data: unknown) => Buffer.from(data as Uint8Array).toString("utf8");
  assert.equal(text((await client.read({ key: "app-db" })).data), "the-value");
  const full = `projects/${gcp.projectID}/secrets/app-db`;
  assert.equal(text((await client.read({ key: full })).data), "the-value");
  assert.deepEqual(await client.validate(), { status: "Ready" });
  await client.close();
});

void test("no project found: InvalidSpec naming projectID, and the next call looks again", async () => {
  delete process.env["GOOGLE_CLOUD_PROJECT"];
  delete process.env["GCLOUD_PROJECT"];
  // No metadata server answers here, and the key file is not ADC's yet.
  process.env["GCE_METADATA_HOST"] = "127.0.0.1:9";
  process.env["METADATA_SERVER_DETECTION"] = "none";
  const client = store();
  delete process.env["GOOGLE_APPLICATION_CREDENTIALS"];
  await assert.rejects(client.read({ key: "app-db" }), (error: Error) => {
    assert.ok(error instanceof InvalidSpecError, error.message);
    assert.match(error.message, /SecretStore\/test\/gcp: spec\.provider\.gcpsm\.projectID is unset/);
    return true;
  });
  process.env["GOOGLE_CLOUD_PROJECT"] = gcp.projectID;
  process.env["GOOGLE_APPLICATION_CREDENTIALS"] = join(dir, "key.json");
  assert.equal((await client.read({ key: "app-db" })).version, "1");
  await client.close();
});

void test("workloadIdentity's clusterProjectID is the project before the environment's, as ESO", async () => {
  process.env["GOOGLE_CLOUD_PROJECT"] = "env-project";
  const workloadIdentity = {
    serviceAccountRef: { name: "app" },
    clusterLocation: "europe-west1",
    clusterName: "prod",
    clusterProjectID: "gke-project",
  };
  const context = { storeName: "SecretStore/test/gcp", readCredential: () => Promise.reject(new Error()) };
  assert.equal(await projectOf({ auth: { workloadIdentity } }, context), "gke-project");
  assert.equal(await projectOf({}, context), "env-project");
  assert.equal(
    await projectOf({ projectID: "set-project", auth: { workloadIdentity } }, context),
    "set-project",
  );
});

void test("a key file's store must set projectID (its project is never looked up)", () => {
  const spec = { auth: { secretRef: { secretAccessKeySecretRef: { name: "gcp", key: "key.json" } } } };
  assert.throws(
    () =>
      createProviderClient(
        { gcpsm: spec },
        { storeName: "SecretStore/test/gcp", readCredential: () => Promise.resolve("") },
      ),
    (error: Error) =>
      error instanceof InvalidSpecError &&
      /spec\.provider\.gcpsm\.projectID/.test(error.message) &&
      /does not look its project up/.test(error.message),
  );
});
