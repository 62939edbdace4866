// metadataPolicy Fetch on Google Secret Manager, as ESO reads it: the
// secret's labels and annotations from GetSecret (no payload is accessed),
// through the real client (gRPC) and the protocol test server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { gcpsmSpec } from "../../../test/gcp/fixtures.ts";
import { startGcpServer, type GcpTestServer } from "../../../test/servers/gcp/index.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { extractMap, extractValue } from "../extract.ts";
import { createProviderClient } from "../registry.ts";
import type { ProviderClient } from "../types.ts";

const READER = "reader@refsync-test.iam.gserviceaccount.com";
let gcp: GcpTestServer;
let client: ProviderClient;

before(async () => {
  gcp = await startGcpServer();
  gcp.addServiceAccount(READER);
  gcp.bind({ member: `serviceAccount:${READER}`, role: "viewer", secrets: ["*"] });
  const key = gcp.createKey(READER);
  gcp.putSecret("app-db", "the-value", {
    labels: { team: "a", env: "prod" },
    annotations: { note: "R&D <ops>" },
  });
  gcp.putSecret("app-bare", "the-value");
  client = createProviderClient(
    {
      gcpsm: gcpsmSpec(gcp, {
        auth: { secretRef: { secretAccessKeySecretRef: { name: "gcp-key", key: "key.json" } } },
      }),
    },
    { storeName: "SecretStore/test/gcp", readCredential: () => Promise.resolve(key) },
  );
});

after(async () => {
  await client?.close();
  await gcp?.close();
});

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const req = { store: "SecretStore/test/gcp", key: "app-db" };

void test("labels and annotations as ESO's JSON; one entry by labels.KEY", async () => {
  gcp.clearRequests();
  const value = await client.read({ key: "app-db", metadata: true });
  assert.deepEqual(
    gcp.requests.map((r) => r.method),
    ["GetSecret"],
  );
  assert.equal(
    text(extractValue(value, req)),
    '{"annotations":{"note":"R\\u0026D \\u003cops\\u003e"},"labels":{"env":"prod","team":"a"}}',
  );
  assert.equal(text(extractValue(value, { ...req, property: "labels" })), '{"env":"prod","team":"a"}');
  assert.equal(text(extractValue(value, { ...req, property: "labels.team" })), "a");
  assert.equal(text(extractValue(value, { ...req, property: "annotations.note" })), "R&D <ops>");
  assert.throws(() => extractValue(value, { ...req, property: "labels.nope" }), SecretNotFoundError);
  assert.throws(() => extractValue(value, { ...req, property: "team" }), InvalidSpecError);
  assert.deepEqual(Object.keys(extractMap(value, req)), ["annotations", "labels"]);
});

void test("no labels or annotations are null, as Go writes nil maps", async () => {
  const value = await client.read({ key: "app-bare", metadata: true });
  assert.equal(text(extractValue(value, req)), '{"annotations":null,"labels":null}');
  await assert.rejects(client.read({ key: "app-gone", metadata: true }), SecretNotFoundError);
});
