// metadataPolicy Fetch on AWS Secrets Manager, as ESO reads it: the secret's
// tags from DescribeSecret (never its value), through the real SDK and the
// protocol test server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { staticKeysClient, TEST_STORE } from "../../../test/aws/fixtures.ts";
import { startAwsServer, type AwsTestServer } from "../../../test/servers/aws/index.ts";
import { SecretNotFoundError } from "../../errors.ts";
import { extractMap, extractValue } from "../extract.ts";
import type { ProviderClient } from "../types.ts";

let server: AwsTestServer;
let aws: ProviderClient;

before(async () => {
  server = await startAwsServer({ sessionSeconds: 3600 });
  const reader = server.addUser({ name: "reader", read: ["team-a/*"] });
  server.putSecret("team-a/db", "the-value", { tags: { team: "a", owner: "R&D <ops>" } });
  server.putSecret("team-a/untagged", "v");
  aws = staticKeysClient(server, reader);
});

after(async () => {
  await aws.close();
  await server.close();
});

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const req = { store: TEST_STORE, key: "team-a/db" };

void test("the tags as ESO's JSON (keys sorted, HTML escaped), from DescribeSecret only", async () => {
  server.clearRequests();
  const value = await aws.read({ key: "team-a/db", metadata: true });
  assert.deepEqual(
    server.requests.map((r) => r.operation),
    ["DescribeSecret"],
  );
  assert.equal(text(extractValue(value, req)), '{"owner":"R\\u0026D \\u003cops\\u003e","team":"a"}');
  assert.equal(text(extractValue(value, { ...req, property: "owner" })), "R&D <ops>");
  assert.deepEqual(Object.fromEntries(Object.entries(extractMap(value, req)).map(([k, v]) => [k, text(v)])), {
    owner: "R&D <ops>",
    team: "a",
  });
  assert.ok(!JSON.stringify(value).includes("the-value"));
});

void test("no tags is an empty object; a missing tag and a missing secret are not found", async () => {
  assert.equal(text(extractValue(await aws.read({ key: "team-a/untagged", metadata: true }), req)), "{}");
  const value = await aws.read({ key: "team-a/db", metadata: true });
  assert.throws(() => extractValue(value, { ...req, property: "nope" }), SecretNotFoundError);
  await assert.rejects(aws.read({ key: "team-a/gone", metadata: true }), SecretNotFoundError);
});
