// Reads coalesced into BatchGetSecretValue must answer as a single
// GetSecretValue would, whatever form the SecretId takes: a name, a complete
// ARN or a partial ARN (no `-XXXXXX` suffix). AWS answers every entry with the
// secret's Name and complete ARN, so a partial ARN matches neither exactly.
// Driven through the real SDK against the protocol test server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { staticKeysClient } from "../../../test/aws/fixtures.ts";
import { startAwsServer, type AwsTestServer, type Credentials } from "../../../test/servers/aws/index.ts";
import { AccessDeniedError, SecretNotFoundError } from "../../errors.ts";
import type { ProviderClient, SecretValue } from "../types.ts";

let server: AwsTestServer;
let reader: Credentials;
const clients: ProviderClient[] = [];

before(async () => {
  server = await startAwsServer();
  reader = server.addUser({ name: "reader", read: ["team-a/*"] });
  server.putSecret("team-a/db", "db-value");
  server.putSecret("team-a/cache", "cache-value");
  // A name that itself ends in "-" and six characters: a partial ARN of it looks complete.
  server.putSecret("team-a/key-abcdef", "key-value");
  server.putSecret("team-b/db", "not yours");
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

function client(): ProviderClient {
  const created = staticKeysClient(server, reader);
  clients.push(created);
  return created;
}

const partialArn = (name: string) =>
  `arn:aws:secretsmanager:${server.region}:${server.account}:secret:${name}`;

/** Reads all keys at once (one coalescing window) and returns each outcome. */
async function readTogether(keys: string[]): Promise<(SecretValue | Error)[]> {
  const aws = client();
  assert.ok(aws.readMany, "the AWS client batches reads");
  return aws.readMany(keys.map((key) => ({ key })));
}

void test("a partial ARN read alone (GetSecretValue) finds the secret", async () => {
  server.clearRequests();
  const value = await client().read({ key: partialArn("team-a/db") });
  assert.equal(value.data, "db-value");
  assert.equal(server.count("GetSecretValue", { status: 200 }), 1);
});

void test("defect 7: a partial ARN coalesced into BatchGetSecretValue gets its value, not NotFound", async () => {
  server.clearRequests();
  const [byPartial, byName, byFull] = await readTogether([
    partialArn("team-a/db"),
    "team-a/cache",
    server.secretArn("team-a/key-abcdef"),
  ]);
  assert.equal(server.count("BatchGetSecretValue", { status: 200 }), 1, "the reads were coalesced");
  assert.equal(server.count("GetSecretValue"), 0);
  assert.equal((byPartial as SecretValue).data, "db-value");
  assert.equal((byName as SecretValue).data, "cache-value");
  assert.equal((byFull as SecretValue).data, "key-value");
});

void test("the same secret by name, complete ARN and partial ARN in one batch: every read gets it", async () => {
  server.clearRequests();
  const outcomes = await readTogether([
    "team-a/db",
    server.secretArn("team-a/db"),
    partialArn("team-a/db"),
    "team-a/cache",
  ]);
  assert.deepEqual(
    outcomes.map((o) => (o instanceof Error ? o.name : o.data)),
    ["db-value", "db-value", "db-value", "cache-value"],
  );
  assert.equal(server.count("GetSecretValue"), 0);
});

void test("per-entry errors for partial ARNs stay with their read", async () => {
  const [denied, missing, ok] = await readTogether([
    partialArn("team-b/db"),
    partialArn("team-a/missing"),
    partialArn("team-a/cache"),
  ]);
  assert.ok(denied instanceof AccessDeniedError, String(denied));
  assert.ok(missing instanceof SecretNotFoundError, String(missing));
  assert.equal((ok as SecretValue).data, "cache-value");
  for (const error of [denied, missing]) assert.doesNotMatch((error as Error).message, /value/);
});

void test("ambiguity: a partial ARN of a name ending in -XXXXXX is not found, batched or alone, even next to its name", async () => {
  const ambiguous = partialArn("team-a/key-abcdef");
  await assert.rejects(client().read({ key: ambiguous }), SecretNotFoundError);
  const [byName, byAmbiguous] = await readTogether(["team-a/key-abcdef", ambiguous]);
  assert.equal((byName as SecretValue).data, "key-value");
  assert.ok(byAmbiguous instanceof SecretNotFoundError, String(byAmbiguous));
});
