// The protocol test server itself, driven by the raw AWS SDK clients: it must
// reject what AWS rejects, or the provider tests prove nothing.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from "@aws-sdk/client-secrets-manager";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { startAwsServer, type AwsTestServer, type Credentials } from "./index.ts";

let server: AwsTestServer;
let admin: Credentials;

before(async () => {
  server = await startAwsServer();
  admin = server.addUser({ name: "admin", read: ["*"], write: ["*"] });
  server.putSecret("app/db", "v1", { tags: { team: "a", env: "prod" } });
  server.putSecret("app/cache", "v1", { tags: { team: "a", env: "dev" } });
  server.putSecret("other/db", "v1", { tags: { team: "b" } });
});

after(() => server.close());

function sm(config: Partial<SecretsManagerClientConfig> = {}): SecretsManagerClient {
  return new SecretsManagerClient({
    region: server.region,
    endpoint: server.endpoint,
    credentials: admin,
    maxAttempts: 1,
    ...config,
  });
}

const codeOf = (error: unknown) => (error as { name: string }).name;

void test("a tampered body fails signature verification", async () => {
  const client = sm();
  // Innermost (deserialize step, low priority): runs after signing, right before the request is sent.
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body: string | Uint8Array };
      const body =
        typeof request.body === "string" ? request.body : Buffer.from(request.body).toString("utf8");
      request.body = body.replace("app/db", "app/dc");
      return next(args);
    },
    { step: "deserialize", priority: "low", name: "tamper" },
  );
  const error = await client.send(new GetSecretValueCommand({ SecretId: "app/db" })).catch((e: unknown) => e);
  assert.equal(codeOf(error), "InvalidSignatureException");
  assert.equal((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 400);
});

void test("a wrong region in the credential scope and an unknown key are rejected", async () => {
  const wrongRegion = await sm({ region: "eu-west-1" })
    .send(new GetSecretValueCommand({ SecretId: "app/db" }))
    .catch((e: unknown) => e);
  assert.equal(codeOf(wrongRegion), "InvalidSignatureException");
  const unknown = await sm({ credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" } })
    .send(new GetSecretValueCommand({ SecretId: "app/db" }))
    .catch((e: unknown) => e);
  assert.equal(codeOf(unknown), "UnrecognizedClientException");
});

void test("AssumeRole's RoleArn: only its length and characters are validated; the rest is AccessDenied", async () => {
  const sts = new STSClient({ region: server.region, endpoint: server.endpoint, credentials: admin });
  const assume = (RoleArn: string) =>
    sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: "t" })).then(
      () => new Error("assumed"),
      (e: unknown) => e as Error,
    );
  const short = await assume("role-a");
  assert.equal(codeOf(short), "ValidationError");
  assert.match(
    short.message,
    /at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20/,
  );
  assert.equal(
    codeOf(await assume(`arn:aws:iam::${server.account}:role/${"r".repeat(2048)}`)),
    "ValidationError",
  );
  // Twenty characters or more pass validation; no such role, or not an ARN, is for authorization to refuse.
  assert.equal(codeOf(await assume("arn:aws:iam::1234567890:role/role-a")), "AccessDenied");
  assert.equal(codeOf(await assume("a-role-name-not-an-arn")), "AccessDenied");
});

void test("expired session credentials are rejected with ExpiredTokenException", async () => {
  const roleArn = server.addRole({
    name: "expiring",
    read: ["*"],
    principals: [`arn:aws:iam::${server.account}:user/admin`],
  });
  const sts = new STSClient({ region: server.region, endpoint: server.endpoint, credentials: admin });
  const { Credentials: temp } = await sts.send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "t" }),
  );
  const session = {
    accessKeyId: temp?.AccessKeyId ?? "",
    secretAccessKey: temp?.SecretAccessKey ?? "",
    sessionToken: temp?.SessionToken ?? "",
  };
  assert.equal(
    (await sm({ credentials: session }).send(new GetSecretValueCommand({ SecretId: "app/db" }))).SecretString,
    "v1",
  );
  const forged = await sm({ credentials: { ...session, sessionToken: "forged" } })
    .send(new GetSecretValueCommand({ SecretId: "app/db" }))
    .catch((e: unknown) => e);
  assert.equal(codeOf(forged), "UnrecognizedClientException");
  server.expireSessions();
  const expired = await sm({ credentials: session })
    .send(new GetSecretValueCommand({ SecretId: "app/db" }))
    .catch((e: unknown) => e);
  assert.equal(codeOf(expired), "ExpiredTokenException");
  const caller = await sts.send(new GetCallerIdentityCommand({}));
  assert.equal(caller.Arn, `arn:aws:iam::${server.account}:user/admin`);
});

void test("ListSecrets: filters AND across keys, OR within, prefix match, negation, pagination", async () => {
  const client = sm();
  const names = async (filters: { Key: "name" | "tag-key" | "tag-value"; Values: string[] }[]) =>
    (await client.send(new ListSecretsCommand({ Filters: filters }))).SecretList?.map((s) => s.Name);
  assert.deepEqual(await names([{ Key: "name", Values: ["app/"] }]), ["app/cache", "app/db"]);
  assert.deepEqual(await names([{ Key: "name", Values: ["App/"] }]), [], "name filter is case-sensitive");
  assert.deepEqual(await names([{ Key: "tag-value", Values: ["prod", "b"] }]), ["app/db", "other/db"]);
  assert.deepEqual(
    await names([
      { Key: "tag-key", Values: ["team"] },
      { Key: "tag-value", Values: ["!dev"] },
    ]),
    ["app/db", "other/db"],
  );
  const first = await client.send(new ListSecretsCommand({ MaxResults: 2 }));
  assert.equal(first.SecretList?.length, 2);
  const second = await client.send(new ListSecretsCommand({ MaxResults: 2, NextToken: first.NextToken }));
  assert.deepEqual(
    second.SecretList?.map((s) => s.Name),
    ["other/db"],
  );
  assert.equal(second.NextToken, undefined);
  const bad = await client.send(new ListSecretsCommand({ NextToken: "bm9wZQ" })).catch((e: unknown) => e);
  assert.equal(codeOf(bad), "InvalidNextTokenException");
});

void test("BatchGetSecretValue: at most 20 ids, per-entry errors", async () => {
  const client = sm();
  const tooMany = await client
    .send(new BatchGetSecretValueCommand({ SecretIdList: Array.from({ length: 21 }, (_, i) => `s${i}`) }))
    .catch((e: unknown) => e);
  assert.equal(codeOf(tooMany), "InvalidParameterException");
  const mixed = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ["app/db", "missing"] }));
  assert.deepEqual(
    mixed.SecretValues?.map((v) => v.Name),
    ["app/db"],
  );
  assert.deepEqual(
    mixed.Errors?.map((e) => [e.SecretId, e.ErrorCode]),
    [["missing", "ResourceNotFoundException"]],
  );
});

void test("fault switches: latency and a logged 500", async () => {
  const client = sm();
  server.setLatency(150);
  const started = performance.now();
  await client.send(new GetSecretValueCommand({ SecretId: "app/db" }));
  assert.ok(performance.now() - started >= 150);
  server.setLatency(0);
  server.clearRequests();
  server.failNext("unavailable", 1);
  const error = await client.send(new GetSecretValueCommand({ SecretId: "app/db" })).catch((e: unknown) => e);
  assert.equal(codeOf(error), "InternalServiceError");
  assert.deepEqual(
    server.requests.map((r) => [r.operation, r.status, r.error]),
    [["GetSecretValue", 500, "InternalServiceError"]],
  );
});

void test("a request signed with a skewed clock is refused; the SDK corrects its clock from the response and retries", async () => {
  const skewed = { systemClockOffset: -20 * 60_000 };
  const once = await sm({ ...skewed, maxAttempts: 1 })
    .send(new GetSecretValueCommand({ SecretId: "app/db" }))
    .catch((e: unknown) => e);
  assert.equal(codeOf(once), "InvalidSignatureException");
  assert.match((once as Error).message, /^Signature expired: \d{8}T\d{6}Z is now earlier than/);
  const corrected = await sm({ ...skewed, maxAttempts: 3 }).send(
    new GetSecretValueCommand({ SecretId: "app/db" }),
  );
  assert.equal(corrected.SecretString, "v1");
});
