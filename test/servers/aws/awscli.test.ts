// The AWS protocol test server driven by Debian's AWS CLI (botocore): a
// second, independent client that must not be able to tell the server from
// Secrets Manager for the calls refsync and its users' tooling make.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AWS_CLI, requireTool, runTool, type ToolResult } from "../system-tools.ts";
import { startAwsServer, type AwsTestServer, type Credentials } from "./index.ts";

let server: AwsTestServer;
let admin: Credentials;
let narrow: Credentials;
let home: string;
let cli: string;

before(async () => {
  cli = requireTool(AWS_CLI, "awscli");
  home = mkdtempSync(join(tmpdir(), "refsync-awscli-"));
  server = await startAwsServer();
  admin = server.addUser({ name: "admin", read: ["*"], write: ["*"], queues: ["*"] });
  // Reads team-a/*, but has no secretsmanager:ListSecrets (granted on * only).
  narrow = server.addUser({ name: "narrow", read: ["team-a/*"], list: false });
  server.putSecret("team-a/db", "first");
  server.putSecret("team-a/db", "second", { tags: { team: "a" } });
  server.putSecret("team-a/cert", new Uint8Array([0, 1, 2, 255]));
  server.putSecret("team-b/db", "b");
});

after(async () => {
  await server.close();
  rmSync(home, { recursive: true, force: true });
});

/** `aws <service> <args>` against the server; credentials and region from the environment only. */
function aws(
  args: string[],
  credentials: Credentials = admin,
  service = "secretsmanager",
): Promise<ToolResult> {
  return runTool(cli, ["--endpoint-url", server.endpoint, "--output", "json", service, ...args], {
    HOME: home,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_DEFAULT_REGION: server.region,
    AWS_CONFIG_FILE: join(home, "none"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "none"),
    AWS_PAGER: "",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_MAX_ATTEMPTS: "1",
  });
}

async function ok(args: string[], credentials?: Credentials): Promise<Record<string, unknown>> {
  const result = await aws(args, credentials);
  assert.equal(result.code, 0, `aws ${args.join(" ")}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** A failed call: the CLI exits 254 and names the error code and operation. */
async function fails(args: string[], code: string, credentials?: Credentials): Promise<string> {
  const result = await aws(args, credentials);
  assert.equal(result.code, 254, `aws ${args.join(" ")} should fail: ${result.stdout}${result.stderr}`);
  assert.match(
    result.stderr,
    new RegExp(`An error occurred \\(${code}\\) when calling the \\w+ operation( \\([^)]*\\))?: .+`),
  );
  return result.stderr;
}

const partialArn = (name: string) =>
  `arn:aws:secretsmanager:${server.region}:${server.account}:secret:${name}`;

void test("get-secret-value by name, complete ARN and partial ARN; a stage; binary values", async () => {
  const [byName, byArn, byPartial, previous, binary] = await Promise.all([
    ok(["get-secret-value", "--secret-id", "team-a/db"]),
    ok(["get-secret-value", "--secret-id", server.secretArn("team-a/db")]),
    ok(["get-secret-value", "--secret-id", partialArn("team-a/db")]),
    ok(["get-secret-value", "--secret-id", "team-a/db", "--version-stage", "AWSPREVIOUS"]),
    ok(["get-secret-value", "--secret-id", "team-a/cert"]),
  ]);
  for (const value of [byName, byArn, byPartial]) {
    assert.equal(value.SecretString, "second");
    assert.equal(value.Name, "team-a/db");
    assert.equal(value.ARN, server.secretArn("team-a/db"));
    assert.deepEqual(value.VersionStages, ["AWSCURRENT"]);
    assert.equal(typeof value.CreatedDate, "string", "botocore parsed the epoch timestamp");
  }
  assert.equal(previous.SecretString, "first");
  assert.deepEqual(previous.VersionStages, ["AWSPREVIOUS"]);
  assert.equal(binary.SecretBinary, Buffer.from([0, 1, 2, 255]).toString("base64"));
});

void test("describe-secret and list-secret-version-ids accept a partial ARN", async () => {
  const [described, versions] = await Promise.all([
    ok(["describe-secret", "--secret-id", partialArn("team-a/db")]),
    ok(["list-secret-version-ids", "--secret-id", partialArn("team-a/db")]),
  ]);
  assert.equal(described.Name, "team-a/db");
  assert.deepEqual(described.Tags, [{ Key: "team", Value: "a" }]);
  const stages = Object.values(described.VersionIdsToStages as Record<string, string[]>)
    .flat()
    .sort();
  assert.deepEqual(stages, ["AWSCURRENT", "AWSPREVIOUS"]);
  assert.equal(versions.Name, "team-a/db");
  assert.equal((versions.Versions as unknown[]).length, 2);
});

void test("list-secrets: filters, and the CLI's own pagination through NextToken", async () => {
  const filtered = await ok(["list-secrets", "--filters", "Key=name,Values=team-a/"]);
  assert.deepEqual(
    (filtered.SecretList as { Name: string }[]).map((s) => s.Name),
    ["team-a/cert", "team-a/db"],
  );
  const paged = await ok(["list-secrets", "--page-size", "1"]);
  assert.equal((paged.SecretList as unknown[]).length, 3, "all pages followed");
});

void test("errors: not found, a partial ARN of a name ending in -XXXXXX, access denied, no ListSecrets", async () => {
  server.putSecret("team-a/key-abcdef", "k");
  const [missing, ambiguous, denied, noList] = await Promise.all([
    fails(["get-secret-value", "--secret-id", "team-a/missing"], "ResourceNotFoundException"),
    fails(["get-secret-value", "--secret-id", partialArn("team-a/key-abcdef")], "ResourceNotFoundException"),
    fails(["get-secret-value", "--secret-id", "team-b/db"], "AccessDeniedException", narrow),
    fails(["list-secrets"], "AccessDeniedException", narrow),
  ]);
  assert.match(missing, /Secrets Manager can't find the specified secret\./);
  assert.match(ambiguous, /Secrets Manager can't find the specified secret\./);
  assert.match(denied, /is not authorized to perform: secretsmanager:GetSecretValue on resource: team-b\/db/);
  assert.match(noList, /is not authorized to perform: secretsmanager:ListSecrets because/);
  assert.equal((await ok(["get-secret-value", "--secret-id", "team-a/db"], narrow)).SecretString, "second");
});

void test("create-secret validates names as AWS does; put-secret-value adds a version", async () => {
  const invalid = await Promise.all(
    ["has space", "semi;colon", "x".repeat(513), "bang!"].map((name) =>
      fails(["create-secret", "--name", name, "--secret-string", "v"], "ValidationException"),
    ),
  );
  assert.equal(invalid.length, 4);
  const created = await ok([
    "create-secret",
    "--name",
    "team-c/A_b+c=d.e@f-g",
    "--secret-string",
    "v1",
    "--tags",
    "Key=team,Value=c",
  ]);
  assert.match(created.ARN as string, /:secret:team-c\/A_b\+c=d\.e@f-g-[A-Za-z0-9]{6}$/);
  const put = await ok(["put-secret-value", "--secret-id", created.ARN as string, "--secret-string", "v2"]);
  assert.deepEqual(put.VersionStages, ["AWSCURRENT"]);
  const read = await ok(["get-secret-value", "--secret-id", "team-c/A_b+c=d.e@f-g"]);
  assert.equal(read.SecretString, "v2");
  await fails(
    ["create-secret", "--name", "team-c/A_b+c=d.e@f-g", "--secret-string", "v"],
    "ResourceExistsException",
  );
});

void test("sts assume-role: --tags and --transitive-tag-keys as STS checks them", async () => {
  const roleArn = server.addRole({
    name: "cli-tagged",
    read: ["team-${aws:PrincipalTag/team}/*"],
    principals: [`arn:aws:iam::${server.account}:user/admin`],
    tagSession: true,
  });
  const untaggable = server.addRole({
    name: "cli-plain",
    principals: [`arn:aws:iam::${server.account}:user/admin`],
  });
  const assume = (role: string, ...extra: string[]) =>
    aws(["assume-role", "--role-arn", role, "--role-session-name", "cli", ...extra], admin, "sts");
  const tagged = await assume(roleArn, "--tags", "Key=team,Value=b", "--transitive-tag-keys", "team");
  assert.equal(tagged.code, 0, tagged.stderr);
  const answer = JSON.parse(tagged.stdout) as {
    Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
    PackedPolicySize?: number;
  };
  assert.equal(typeof answer.PackedPolicySize, "number");
  const session = {
    accessKeyId: answer.Credentials.AccessKeyId,
    secretAccessKey: answer.Credentials.SecretAccessKey,
  };
  const read = await runTool(
    cli,
    [
      "--endpoint-url",
      server.endpoint,
      "--output",
      "json",
      "secretsmanager",
      "get-secret-value",
      "--secret-id",
      "team-b/db",
    ],
    {
      HOME: home,
      AWS_ACCESS_KEY_ID: session.accessKeyId,
      AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
      AWS_SESSION_TOKEN: answer.Credentials.SessionToken,
      AWS_DEFAULT_REGION: server.region,
      AWS_CONFIG_FILE: join(home, "none"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "none"),
      AWS_EC2_METADATA_DISABLED: "true",
    },
  );
  assert.equal(read.code, 0, read.stderr);
  assert.equal(
    (JSON.parse(read.stdout) as { SecretString: string }).SecretString,
    "b",
    "the tag grants team-b",
  );
  const duplicate = await assume(roleArn, "--tags", "Key=team,Value=a", "Key=TEAM,Value=b");
  assert.equal(duplicate.code, 254);
  assert.match(duplicate.stderr, /\(InvalidParameterValue\).*Duplicate tag keys found/);
  const long = await assume(roleArn, "--tags", `Key=${"k".repeat(129)},Value=v`);
  assert.equal(long.code, 254);
  assert.match(long.stderr, /\(ValidationError\)/);
  const noTagSession = await assume(untaggable, "--tags", "Key=team,Value=a");
  assert.equal(noTagSession.code, 254);
  assert.match(noTagSession.stderr, /\(AccessDenied\).*sts:TagSession/);
});

void test("sqs: receive-message long-polls the CloudTrail event of a change, delete-message removes it", async () => {
  const url = server.sqs.createQueue("awscli-events", { visibilitySeconds: 30 });
  const unroute = server.routeSecretEvents("awscli-events");
  try {
    const sqs = (args: string[], credentials = admin) => aws(args, credentials, "sqs");
    const polling = sqs([
      "receive-message",
      "--queue-url",
      url,
      "--wait-time-seconds",
      "5",
      "--max-number-of-messages",
      "10",
    ]);
    setTimeout(() => server.putSecret("team-a/db", "third"), 300);
    const received = await polling;
    assert.equal(received.code, 0, received.stderr);
    const [message] =
      (JSON.parse(received.stdout) as { Messages?: { Body: string; ReceiptHandle: string }[] }).Messages ??
      [];
    assert.ok(message, "botocore took the message, its MD5OfBody checked");
    const event = JSON.parse(message.Body) as {
      detail: { eventName: string; requestParameters: { secretId: string } };
    };
    assert.equal(event.detail.eventName, "PutSecretValue");
    assert.equal(event.detail.requestParameters.secretId, "team-a/db");
    const deleted = await sqs([
      "delete-message",
      "--queue-url",
      url,
      "--receipt-handle",
      message.ReceiptHandle,
    ]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(server.sqs.depth("awscli-events"), { visible: 0, inFlight: 0 });
    const denied = await sqs(["receive-message", "--queue-url", url], narrow);
    assert.equal(denied.code, 254);
    assert.match(denied.stderr, /\(AccessDenied\) when calling the ReceiveMessage operation/);
  } finally {
    unroute();
  }
});
