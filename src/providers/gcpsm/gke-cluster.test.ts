// GKE Workload Identity without clusterProjectID, clusterLocation or
// clusterName, as ESO's documentation writes it: they come from the GCE
// metadata server (GCE_METADATA_HOST, here the test server's). Through the
// real clients (gcp-metadata, google-auth-library's STS exchange, gRPC).
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { gcpsmSpec } from "../../../test/gcp/fixtures.ts";
import { startGcpServer, type GcpTestServer } from "../../../test/servers/gcp/index.ts";
import { BackendUnavailableError, InvalidSpecError } from "../../errors.ts";
import { convertEsoObject } from "../../api/eso.ts";
import { validateStoreSpec } from "../../api/validate.ts";
import { createProviderClient } from "../registry.ts";
import { parseGcpsmSpec } from "./spec.ts";
import type { ProviderContext } from "../types.ts";

const savedEnv = { ...process.env };
let gcp: GcpTestServer;

before(async () => {
  // The fake TokenRequest below writes the audiences into the token; the reviewer accepts a token
  // only for the identity namespace the STS expects, so a wrong project in the pool fails.
  gcp = await startGcpServer({
    reviewToken: (token, allowed) => {
      const [ns, name, audiences] = token.split("|");
      const ok = audiences?.split(",").some((a) => allowed.includes(a));
      return Promise.resolve(ok ? `system:serviceaccount:${ns}:${name}` : undefined);
    },
  });
  gcp.addGkeCluster("europe-west1", "prod");
  gcp.bind({
    member: `serviceAccount:${gcp.projectID}.svc.id.goog[team-a/app]`,
    role: "secretAccessor",
    secrets: ["*"],
  });
  gcp.putSecret("app-db", "the-value");
});

afterEach(() => {
  process.env = { ...savedEnv };
});

after(async () => {
  process.env = savedEnv;
  await gcp?.close();
});

const context: ProviderContext = {
  storeName: "SecretStore/team-a/gke",
  namespace: "team-a",
  readCredential: () => Promise.reject(new Error("no Secret")),
  requestServiceAccountToken: (ref) =>
    Promise.resolve(`${ref.namespace ?? "?"}|${ref.name}|${(ref.audiences ?? []).join(",")}`),
  serviceAccountAnnotations: () => Promise.resolve({}),
};

function store(workloadIdentity: Record<string, unknown>) {
  process.env["GCE_METADATA_HOST"] = gcp.metadataHost;
  const spec = gcpsmSpec(gcp, {
    endpoints: { secretManager: gcp.secretManager, sts: gcp.sts, iamCredentials: gcp.iamCredentials },
    auth: { workloadIdentity: { serviceAccountRef: { name: "app" }, ...workloadIdentity } },
  });
  return createProviderClient({ gcpsm: spec }, context);
}

const metadataAsked = () =>
  gcp.requests
    .filter((r) => r.service === "metadata")
    .map((r) => r.resource)
    .sort();

void test("ESO's snippet: no cluster fields, all three from the metadata server, asked once", async () => {
  // ESO's gcpsm workload identity snippet (only serviceAccountRef), converted and validated as the
  // plugin does: it used to fail with "clusterLocation: Invalid input: expected string".
  const converted = convertEsoObject({
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: { name: "gke", namespace: "team-a" },
    spec: {
      provider: {
        gcpsm: {
          projectID: "refsync-test",
          auth: { workloadIdentity: { serviceAccountRef: { name: "app" } } },
        },
      },
    },
  });
  assert.ok(converted.ok, JSON.stringify(converted));
  const spec = validateStoreSpec(converted.object.spec);
  assert.deepEqual(parseGcpsmSpec(spec.provider.gcpsm).auth, {
    workloadIdentity: { serviceAccountRef: { name: "app" } },
  });

  gcp.setInstanceAttributes({ "cluster-name": "prod", "cluster-location": "europe-west1" });
  gcp.clearRequests();
  const client = store({});
  const text = (data: unknown) => Buffer.from(data as Uint8Array).toString("utf8");
  assert.equal(text((await client.read({ key: "app-db" })).data), "the-value");
  assert.deepEqual(metadataAsked(), [
    "instance/attributes/cluster-location",
    "instance/attributes/cluster-name",
    "project/project-id",
  ]);
  // The exchange named the cluster the metadata server described.
  const exchange = gcp.requests.find((r) => r.method === "ExchangeToken");
  assert.equal(
    exchange?.resource,
    `identitynamespace:${gcp.projectID}.svc.id.goog:https://container.googleapis.com/v1/projects/${gcp.projectID}/locations/europe-west1/clusters/prod`,
  );
  assert.equal(exchange?.principal, `serviceAccount:${gcp.projectID}.svc.id.goog[team-a/app]`);
  // A token refresh does not ask the metadata server again.
  gcp.expireTokens();
  gcp.clearRequests();
  assert.equal(text((await client.read({ key: "app-db" })).data), "the-value");
  assert.deepEqual(metadataAsked(), []);
  await client.close();
});

void test("fields the store sets win; only the others are asked", async () => {
  gcp.setInstanceAttributes({ "cluster-name": "other", "cluster-location": "europe-west1" });
  gcp.clearRequests();
  const client = store({ clusterName: "prod", clusterProjectID: gcp.projectID });
  assert.equal((await client.read({ key: "app-db" })).version, "1");
  assert.deepEqual(metadataAsked(), ["instance/attributes/cluster-location"]);
  await client.close();
});

void test("not on a GKE node: InvalidSpec naming the field, and a later read asks again", async () => {
  gcp.setInstanceAttributes({ "cluster-location": "europe-west1" });
  const client = store({});
  await assert.rejects(client.read({ key: "app-db" }), (error: Error) => {
    assert.ok(error instanceof InvalidSpecError, error.message);
    assert.match(
      error.message,
      /SecretStore\/team-a\/gke: spec\.provider\.gcpsm\.auth\.workloadIdentity\.clusterName is unset and the metadata server has no instance\/attributes\/cluster-name .*: set clusterName/,
    );
    return true;
  });
  gcp.setInstanceAttributes({ "cluster-name": "prod", "cluster-location": "europe-west1" });
  assert.equal((await client.read({ key: "app-db" })).version, "1");
  await client.close();
});

void test("no metadata server: unavailable (retried), naming the field and the variable", async () => {
  const client = store({ clusterProjectID: gcp.projectID, clusterName: "prod" });
  process.env["GCE_METADATA_HOST"] = "127.0.0.1:9";
  await assert.rejects(client.read({ key: "app-db" }), (error: Error) => {
    assert.ok(error instanceof BackendUnavailableError, error.message);
    assert.match(
      error.message,
      /workloadIdentity\.clusterLocation is unset and the metadata server \(GCE_METADATA_HOST, else 169\.254\.169\.254\) did not answer instance\/attributes\/cluster-location/,
    );
    return true;
  });
  await client.close();
});
