// The AWS provider against the Secrets Manager + STS protocol test server,
// through the real AWS SDK over loopback (signatures verified by the server).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startAwsServer, type AwsTestServer, type Credentials } from "../../../test/servers/aws/index.ts";
import {
  AccessDeniedError,
  BackendUnavailableError,
  InvalidSpecError,
  SecretNotFoundError,
  ThrottledError,
} from "../../errors.ts";
import { extractValue } from "../extract.ts";
import type { CallResult, ProviderClient, ProviderContext } from "../types.ts";
import { awsProvider } from "./index.ts";

const STORE = "SecretStore/team-a/aws";
const DB_PASSWORD = "hunter2-db-password";

let server: AwsTestServer;
let reader: Credentials;
const clients: ProviderClient[] = [];

before(async () => {
  server = await startAwsServer({ sessionSeconds: 3600 });
  reader = server.addUser({ name: "reader", read: ["team-a/*"], write: ["team-a/*"] });
  server.putSecret("team-a/db", JSON.stringify({ user: "app", password: "old-password" }), {
    tags: { team: "a" },
  });
  server.putSecret(
    "team-a/db",
    JSON.stringify({ user: "app", password: DB_PASSWORD, nested: { a: { b: "deep" } } }),
  );
  server.putSecret("team-a/cert", new Uint8Array([0, 1, 2, 255]), { tags: { team: "a", kind: "tls" } });
  server.putSecret("team-b/db", "not yours", { tags: { team: "b" } });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

interface Calls {
  calls: { call: string; result: CallResult }[];
}

function staticContext(
  credentials: Credentials,
  extra: Partial<ProviderContext> = {},
): ProviderContext & Calls {
  const calls: Calls["calls"] = [];
  const values: Record<string, string> = { id: credentials.accessKeyId, secret: credentials.secretAccessKey };
  return {
    storeName: STORE,
    namespace: "team-a",
    readCredential: (ref) => Promise.resolve(values[ref.key] ?? ""),
    onCall: (call, result) => calls.push({ call, result }),
    calls,
    ...extra,
  };
}

const staticAuth = {
  secretRef: {
    accessKeyIDSecretRef: { name: "aws", key: "id" },
    secretAccessKeySecretRef: { name: "aws", key: "secret" },
  },
};

function client(spec: Record<string, unknown> = {}, context = staticContext(reader)): ProviderClient {
  const created = awsProvider.create(
    {
      region: server.region,
      endpoints: { secretsManager: server.endpoint, sts: server.endpoint },
      auth: staticAuth,
      ...spec,
    },
    context,
  );
  clients.push(created);
  return created;
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

void test("reads the current version, JSON properties and nested paths", async () => {
  const aws = client();
  const value = await aws.read({ key: "team-a/db" });
  assert.equal(typeof value.data, "string");
  assert.match(value.version ?? "", /^[0-9a-f-]{36}$/);
  assert.equal(
    text(extractValue(value, { store: STORE, key: "team-a/db", property: "password" })),
    DB_PASSWORD,
  );
  assert.equal(
    text(extractValue(value, { store: STORE, key: "team-a/db", property: "/nested/a/b" })),
    "deep",
  );
});

void test("reads AWSPREVIOUS, a VersionId and a custom stage", async () => {
  const aws = client();
  const previous = await aws.read({ key: "team-a/db", version: "AWSPREVIOUS" });
  assert.equal(JSON.parse(previous.data as string).password, "old-password");
  const pinned = await aws.read({ key: "team-a/db", version: `uuid/${previous.version}` });
  assert.equal(pinned.data, previous.data);
  const bare = await aws.read({ key: "team-a/db", version: previous.version });
  assert.equal(bare.version, previous.version);
  server.moveStage("team-a/db", "BLUE", previous.version ?? "");
  assert.equal((await aws.read({ key: "team-a/db", version: "BLUE" })).version, previous.version);
  await assert.rejects(aws.read({ key: "team-a/db", version: "GREEN" }), SecretNotFoundError);
});

void test("returns SecretBinary as bytes", async () => {
  const value = await client().read({ key: "team-a/cert" });
  assert.ok(value.data instanceof Uint8Array);
  assert.deepEqual([...value.data], [0, 1, 2, 255]);
});

void test("reads by ARN, and keys are relative to the store's prefix", async () => {
  const arn = server.secretArn("team-a/db");
  const scoped = client({ prefix: "team-a/" });
  assert.match((await scoped.read({ key: "db" })).data as string, /hunter2/);
  assert.match((await scoped.read({ key: arn })).data as string, /hunter2/);
  await assert.rejects(scoped.read({ key: server.secretArn("team-b/db") }), AccessDeniedError);
  const [outside] = await scoped.readMany!([{ key: server.secretArn("team-b/db") }]);
  assert.ok(outside instanceof AccessDeniedError);
  await assert.rejects(scoped.list({ name: { regexp: "(" } }), InvalidSpecError);
  assert.deepEqual(await scoped.list({ tags: { team: "a" } }), ["cert", "db"]);
});

void test("maps NotFound and AccessDenied, naming store and secret but never a value", async () => {
  const aws = client();
  const missing = await aws.read({ key: "team-a/missing" }).catch((e: unknown) => e);
  assert.ok(missing instanceof SecretNotFoundError);
  assert.match(missing.message, /SecretStore\/team-a\/aws: GetSecretValue "team-a\/missing": not found/);
  const denied = await aws.read({ key: "team-b/db" }).catch((e: unknown) => e);
  assert.ok(denied instanceof AccessDeniedError);
  assert.match(denied.message, /team-b\/db/);
  for (const error of [missing, denied]) {
    assert.doesNotMatch(`${error.message} ${String(error.cause)}`, /hunter2|not yours|AKIA|ASIA/);
  }
});

void test("readMany fetches current versions with BatchGetSecretValue, 20 per call, errors per entry", async () => {
  for (let i = 0; i < 45; i++) server.putSecret(`team-a/many-${i}`, `value-${i}`);
  const aws = client();
  server.clearRequests();
  const keys = Array.from({ length: 45 }, (_, i) => ({ key: `team-a/many-${i}` }));
  const results = await aws.readMany!([
    ...keys,
    { key: "team-a/missing" },
    { key: "team-b/db" },
    { key: "team-a/db", version: "AWSPREVIOUS" },
  ]);
  assert.equal(server.count("BatchGetSecretValue"), 3);
  assert.equal(server.count("GetSecretValue"), 1, "only the pinned version is read alone");
  for (let i = 0; i < 45; i++) assert.equal((results[i] as { data: string }).data, `value-${i}`);
  assert.ok(results[45] instanceof SecretNotFoundError);
  assert.ok(results[46] instanceof AccessDeniedError);
  assert.match((results[47] as { data: string }).data, /old-password/);
});

void test("takes one rate-limit token per Secrets Manager request, not per secret in a batch", async () => {
  for (let i = 0; i < 25; i++) server.putSecret(`team-a/token-${i}`, `value-${i}`);
  let tokens = 0;
  const aws = client({}, staticContext(reader, { takeToken: () => (tokens++, Promise.resolve()) }));
  assert.equal(aws.metersOwnRequests, true);
  server.clearRequests();
  await aws.readMany!([
    ...Array.from({ length: 25 }, (_, i) => ({ key: `team-a/token-${i}` })),
    { key: "team-a/db", version: "AWSPREVIOUS" },
  ]);
  await Promise.all([aws.read({ key: "team-a/token-0" }), aws.read({ key: "team-a/token-1" })]);
  const requests = server.count("BatchGetSecretValue") + server.count("GetSecretValue");
  assert.equal(requests, 4, "2 batches of the 25, 1 pinned read, 1 batch of the two coalesced reads");
  assert.equal(tokens, requests);
});

void test("finds secrets by tags and name regexp across ListSecrets pages", async () => {
  for (let i = 0; i < 120; i++)
    server.putSecret(`team-a/found-${i}`, "x", { tags: { app: i % 2 ? "odd" : "even" } });
  const aws = client();
  server.clearRequests();
  const odd = await aws.list({ tags: { app: "odd" } });
  assert.equal(odd.length, 60);
  assert.ok(odd.every((k) => /^team-a\/found-\d*[13579]$/.test(k)));
  const byName = await aws.list({ name: { regexp: "^team-a/found-1[0-9]$" }, tags: { app: "even" } });
  assert.deepEqual(byName, [
    "team-a/found-10",
    "team-a/found-12",
    "team-a/found-14",
    "team-a/found-16",
    "team-a/found-18",
  ]);
  const filtered = server.requests.filter((r) => r.operation === "ListSecrets");
  assert.ok(filtered.length >= 2, "the tag filter alone matches more than one page");
});

void test("currentVersion follows AWSCURRENT through DescribeSecret, without reading the value", async () => {
  const aws = client();
  server.clearRequests();
  const before = await aws.currentVersion!({ key: "team-a/db" });
  const rotated = server.putSecret("team-a/db", JSON.stringify({ user: "app", password: DB_PASSWORD }));
  const after = await aws.currentVersion!({ key: "team-a/db" });
  assert.notEqual(before, after);
  assert.equal(after, rotated);
  assert.equal(server.count("DescribeSecret"), 2);
  assert.equal(server.count("GetSecretValue") + server.count("BatchGetSecretValue"), 0);
});

void test("write creates, is idempotent for the same value, and updates", async () => {
  const aws = client();
  const created = await aws.write!("team-a/migrated", { password: "p1" });
  assert.equal(created.outcome, "created");
  const again = await aws.write!("team-a/migrated", { password: "p1" });
  assert.deepEqual(again, { outcome: "unchanged", version: created.version });
  const updated = await aws.write!("team-a/migrated", { password: "p2" });
  assert.equal(updated.outcome, "updated");
  assert.equal(await aws.currentVersion!({ key: "team-a/migrated" }), updated.version);
  assert.equal((await aws.read({ key: "team-a/migrated", version: "AWSPREVIOUS" })).version, created.version);
  await assert.rejects(aws.write!("team-b/migrated", { password: "p" }), AccessDeniedError);
});

void test("throttling: the SDK backs off and retries, each attempt is counted; persistent throttling is ThrottledError", async () => {
  const context = staticContext(reader);
  const aws = client({}, context);
  server.failNext("throttle", 2, { operation: "GetSecretValue" });
  await aws.read({ key: "team-a/db", version: "AWSCURRENT" });
  const attempts = context.calls.filter((c) => c.call === "GetSecretValue").map((c) => c.result);
  assert.deepEqual(attempts, ["throttled", "throttled", "success"]);

  server.failNext("throttle", 3, { operation: "GetSecretValue" });
  const error = await aws.read({ key: "team-a/db" }).catch((e: unknown) => e);
  assert.ok(error instanceof ThrottledError, String(error));
  assert.equal(server.count("GetSecretValue", { status: 400 }) >= 5, true);
});

void test("5xx after the SDK's retries is BackendUnavailable", async () => {
  const aws = client();
  server.failNext("unavailable", 3, { operation: "GetSecretValue" });
  await assert.rejects(aws.read({ key: "team-a/db" }), BackendUnavailableError);
  assert.match((await aws.read({ key: "team-a/db" })).data as string, /hunter2/, "recovers by itself");
});

void test("bad signatures and unknown keys are rejected as AWS does", async () => {
  const wrongSecret = { ...reader, secretAccessKey: "wrong" + reader.secretAccessKey.slice(5) };
  server.clearRequests();
  await assert.rejects(client({}, staticContext(wrongSecret)).read({ key: "team-a/db" }), AccessDeniedError);
  assert.equal(server.requests[0]?.error, "InvalidSignatureException");
  server.clearRequests();
  const unknown = { accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: reader.secretAccessKey };
  await assert.rejects(client({}, staticContext(unknown)).read({ key: "team-a/db" }), AccessDeniedError);
  assert.equal(server.requests[0]?.error, "UnrecognizedClientException");
});

void test("validate: Ready with a StaticCredentials warning for keys from a Secret; Error for bad keys", async () => {
  const ok = await client().validate();
  assert.equal(ok.status, "Ready");
  assert.equal(ok.warnings?.[0]?.type, "StaticCredentials");
  const bad = await client({}, staticContext({ ...reader, secretAccessKey: "nope" })).validate();
  assert.equal(bad.status, "Error");
  assert.doesNotMatch(bad.message ?? "", new RegExp(reader.accessKeyId));
});

void test("assume role with ExternalId; credentials cached and refreshed before expiry", async () => {
  const assumer = server.addUser({ name: "assumer" });
  const roleArn = server.addRole({
    name: "team-a-reader",
    read: ["team-a/*"],
    principals: [`arn:aws:iam::${server.account}:user/assumer`],
    externalId: "refsync-ext",
  });
  const denied = client({ role: roleArn, externalID: "wrong-ext" }, staticContext(assumer));
  await assert.rejects(denied.read({ key: "team-a/db" }), AccessDeniedError);
  assert.equal((await denied.validate()).status, "Error");

  const aws = client({ role: roleArn, externalID: "refsync-ext" }, staticContext(assumer));
  server.clearRequests();
  await aws.read({ key: "team-a/db" });
  await aws.read({ key: "team-a/db", version: "AWSPREVIOUS" });
  assert.equal(server.count("AssumeRole"), 1, "temporary credentials are reused");
  assert.match(server.requests.at(-1)?.principal ?? "", /assumed-role\/team-a-reader\/refsync-team-a/);
  await assert.rejects(aws.read({ key: "team-b/db" }), AccessDeniedError);
});

void test("short-lived credentials are refreshed before they expire", async () => {
  const shortServer = await startAwsServer({ sessionSeconds: 2 });
  try {
    const user = shortServer.addUser({ name: "u" });
    shortServer.putSecret("s", "v");
    const roleArn = shortServer.addRole({
      name: "r",
      read: ["*"],
      principals: [`arn:aws:iam::${shortServer.account}:user/u`],
    });
    const aws = awsProvider.create(
      {
        region: "us-east-1",
        role: roleArn,
        endpoints: { secretsManager: shortServer.endpoint, sts: shortServer.endpoint },
        auth: staticAuth,
      },
      staticContext(user),
    );
    clients.push(aws);
    await aws.read({ key: "s" });
    await aws.read({ key: "s", version: "AWSCURRENT" });
    assert.equal(shortServer.count("AssumeRole"), 1);
    await sleep(1100); // past half of the 2 s lifetime
    await aws.read({ key: "s" });
    assert.equal(shortServer.count("AssumeRole"), 2);
    assert.equal(shortServer.requests.filter((r) => r.error === "ExpiredTokenException").length, 0);
  } finally {
    await shortServer.close();
  }
});

void test("default chain: credentials from the environment", async () => {
  const saved = { ...process.env };
  process.env["AWS_ACCESS_KEY_ID"] = reader.accessKeyId;
  process.env["AWS_SECRET_ACCESS_KEY"] = reader.secretAccessKey;
  process.env["AWS_EC2_METADATA_DISABLED"] = "true";
  try {
    const aws = client({ auth: undefined });
    assert.match((await aws.read({ key: "team-a/db" })).data as string, /hunter2/);
    const validation = await aws.validate();
    assert.equal(validation.status, "Ready");
    assert.equal(validation.warnings, undefined, "no StaticCredentials warning for the default chain");
  } finally {
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
});

void test("spec errors name the field", () => {
  const context = staticContext(reader);
  assert.throws(
    () => awsProvider.create({}, context),
    (e: Error) => e instanceof InvalidSpecError && /spec\.provider\.aws\.region/.test(e.message),
  );
  assert.throws(
    () => awsProvider.create({ region: "us-east-1", role: "admin" }, context),
    /spec\.provider\.aws\.role: must be 20 to 2048 characters, as STS's RoleArn/,
  );
  assert.throws(
    () => awsProvider.create({ region: "us-east-1", auth: { token: "x" } }, context),
    /spec\.provider\.aws\.auth/,
  );
  assert.throws(
    () => awsProvider.create({ region: "us-east-1", endpoints: { secretsManager: "ftp://x" } }, context),
    /spec\.provider\.aws\.endpoints\.secretsManager/,
  );
});

void test("200 concurrent reads of 40 distinct secrets cost 2 BatchGetSecretValue calls (40 secrets fetched)", async () => {
  for (let i = 0; i < 40; i++) server.putSecret(`team-a/app-${i}`, JSON.stringify({ n: String(i) }));
  const aws = client();
  server.clearRequests();
  const reads = Array.from({ length: 200 }, (_, i) => aws.read({ key: `team-a/app-${i % 40}` }));
  const values = await Promise.all(reads);
  values.forEach((value, i) => assert.equal(JSON.parse(value.data as string).n, String(i % 40)));
  const calls = server.requests.filter((r) => r.service === "secretsmanager");
  assert.deepEqual(
    calls.map((r) => r.operation),
    ["BatchGetSecretValue", "BatchGetSecretValue"],
  );
  assert.equal(new Set(calls.flatMap((r) => r.secrets)).size, 40);
  assert.equal(calls.flatMap((r) => r.secrets).length, 40, "no secret fetched twice");
});

void test("a read aborted by its caller does not cancel the others in its batch", async () => {
  const aws = client();
  const controller = new AbortController();
  const aborted = aws.read({ key: "team-a/app-1" }, controller.signal);
  const kept = aws.read({ key: "team-a/app-2" });
  controller.abort(new Error("reconcile cancelled"));
  await assert.rejects(aborted, /reconcile cancelled/);
  assert.equal(JSON.parse((await kept).data as string).n, "2");
});

void test("jwt: the service account's annotated role, then the store's role chained on top", async () => {
  const tokens = new Map([["token-for-ns-app", "system:serviceaccount:ns:app"]]);
  const sts = await startAwsServer({
    reviewToken: (token, audience) =>
      Promise.resolve(audience === "sts.amazonaws.com" ? tokens.get(token) : undefined),
  });
  try {
    sts.putSecret("target/db", "chained-value");
    const webRole = sts.addRole({ name: "web", serviceAccounts: ["ns/app"] });
    const targetRole = sts.addRole({ name: "target", read: ["target/*"], principals: [webRole] });
    const requested: unknown[] = [];
    const context: ProviderContext = {
      storeName: STORE,
      namespace: "ns",
      readCredential: () => Promise.reject(new Error("no static keys here")),
      requestServiceAccountToken: (ref) => {
        requested.push(ref);
        return Promise.resolve("token-for-ns-app");
      },
      serviceAccountAnnotations: () => Promise.resolve({ "eks.amazonaws.com/role-arn": webRole }),
    };
    const aws = awsProvider.create(
      {
        region: sts.region,
        role: targetRole,
        endpoints: { secretsManager: sts.endpoint, sts: sts.endpoint },
        auth: { jwt: { serviceAccountRef: { name: "app" } } },
      },
      context,
    );
    clients.push(aws);
    assert.equal((await aws.read({ key: "target/db" })).data, "chained-value");
    assert.deepEqual(requested, [{ name: "app", namespace: "ns", audiences: ["sts.amazonaws.com"] }]);
    assert.deepEqual(
      sts.requests.map((r) => [r.operation, r.status]),
      [
        ["AssumeRoleWithWebIdentity", 200],
        ["AssumeRole", 200],
        ["GetSecretValue", 200],
      ],
    );
    assert.match(sts.requests.at(-1)?.principal ?? "", /assumed-role\/target\//);
  } finally {
    await sts.close();
  }
});

void test("without secretsmanager:BatchGetSecretValue the client falls back to GetSecretValue per secret", async () => {
  const narrow = server.addUser({ name: "no-batch", read: ["team-a/*"], batchGet: false });
  const aws = client({}, staticContext(narrow));
  server.clearRequests();
  const first = await aws.readMany!([{ key: "team-a/db" }, { key: "team-a/cert" }, { key: "team-b/db" }]);
  assert.match((first[0] as { data: string }).data, /hunter2/);
  assert.ok((first[1] as { data: unknown }).data instanceof Uint8Array);
  assert.ok(first[2] instanceof AccessDeniedError);
  const second = await aws.readMany!([{ key: "team-a/db" }, { key: "team-a/cert" }]);
  assert.equal(second.length, 2);
  assert.deepEqual(
    server.requests.map((r) => `${r.operation} ${r.error ?? "ok"}`),
    [
      "BatchGetSecretValue AccessDeniedException",
      "GetSecretValue ok",
      "GetSecretValue ok",
      "GetSecretValue AccessDeniedException",
      "GetSecretValue ok",
      "GetSecretValue ok",
    ],
  );
});
