// The plugin's inline mode resolves ref+awssecrets:// through the AWS provider
// (the sidecar's own identity: the SDK's default chain, here environment
// keys), only where the operator's policy lets the Argo CD project read, and
// with current versions batched into one BatchGetSecretValue call.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import type { PluginConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { startAwsServer, type AwsTestServer, type Credentials } from "../servers/aws/index.ts";
import { runRefsync, type RefsyncRun } from "../cli-process.ts";

const repo = join(import.meta.dirname, "..", "..");

const MANIFEST = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: ref+awssecrets://team-a/db#password
  nested: ref+awssecrets://team-a/db#/nested/a/b
  previous: ref+awssecrets://team-a/db?version=AWSPREVIOUS#password
  token: ref+awssecrets://team-a/api#token
  url: postgres://app:ref+awssecrets://team-a/db#password+@db:5432/app
`;

let aws: AwsTestServer;
let sidecar: Credentials;
let dir: string;
let config: PluginConfig;
const requester = { project: "team-a", namespace: "team-a" };
const savedEnv = { ...process.env };

before(async () => {
  aws = await startAwsServer();
  // IAM lets the sidecar read everything; refsync's policy is what narrows it per project.
  sidecar = aws.addUser({ name: "argocd-repo-server", read: ["*"] });
  aws.putSecret("team-a/db", JSON.stringify({ password: "inline-old" }));
  aws.putSecret("team-a/db", JSON.stringify({ password: "inline-pw", nested: { a: { b: "inline-deep" } } }));
  aws.putSecret("team-a/api", JSON.stringify({ token: "inline-token" }));
  aws.putSecret("team-b/db", JSON.stringify({ password: "inline-pw-b" }));
  dir = await mkdtemp(join(tmpdir(), "refsync-aws-inline-"));
  config = {
    stores: {
      aws: {
        provider: {
          aws: { region: aws.region, endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint } },
        },
      },
    },
    defaultStores: { awssecrets: "aws" },
    modes: ["deferred", "inline"],
    policy: [{ projects: ["team-a"], stores: ["aws"], paths: ["team-a/"] }],
  };
  Object.assign(process.env, awsEnv());
});

after(async () => {
  process.env = savedEnv;
  await rm(dir, { recursive: true, force: true });
  await aws?.close();
});

function awsEnv(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: sidecar.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sidecar.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

function values(output: string): Record<string, string> {
  const [secret] = parseAllDocuments(output).map(
    (doc) => doc.toJS() as { stringData?: Record<string, string> },
  );
  return secret?.stringData ?? {};
}

const readCalls = () => aws.requests.filter((r) => r.service === "secretsmanager");

void test("substitutes values: properties, nested path, AWSPREVIOUS, embedded; current versions in one batch", async () => {
  await writeFile(join(dir, "secret.yaml"), MANIFEST);
  aws.clearRequests();
  const result = await render({ input: join(dir, "secret.yaml"), mode: "inline", config, requester });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  assert.deepEqual(values(result.output), {
    password: "inline-pw",
    nested: "inline-deep",
    previous: "inline-old",
    token: "inline-token",
    url: "postgres://app:inline-pw@db:5432/app",
  });
  assert.deepEqual(
    readCalls()
      .map((r) => [r.operation, [...r.secrets].sort()])
      .sort(),
    [
      ["BatchGetSecretValue", ["team-a/api", "team-a/db"]],
      ["GetSecretValue", ["team-a/db"]],
    ],
  );
});

void test("refuses a path the project may not read, before asking AWS, and never prints a value", async () => {
  await writeFile(join(dir, "other.yaml"), MANIFEST.replaceAll("team-a/", "team-b/"));
  aws.clearRequests();
  const result = await render({ input: join(dir, "other.yaml"), mode: "inline", config, requester });
  assert.equal(result.ok, false);
  const errors = result.ok ? "" : result.errors.join("\n");
  assert.match(errors, /policy denies project "team-a".*team-b\/db/);
  assert.doesNotMatch(errors, /inline-pw-b/);
  assert.equal(readCalls().length, 0);
});

void test("`refsync render --mode inline` in a real process with the sidecar's AWS environment", async () => {
  const configFile = join(dir, "refsync.yaml");
  await writeFile(configFile, stringify(config));
  const args = [
    "render",
    "--mode",
    "inline",
    "--config",
    configFile,
    "--project",
    "team-a",
    "--namespace",
    "team-a",
    "-",
  ];
  aws.clearRequests();
  const ok = await cli(args, MANIFEST);
  assert.equal(ok.stderr, "");
  assert.equal(ok.code, 0);
  assert.equal(values(ok.stdout)["token"], "inline-token");
  assert.equal(readCalls().filter((r) => r.principal?.endsWith(":user/argocd-repo-server")).length, 2);

  const missing = await cli(args, MANIFEST.replace("team-a/api#token", "team-a/missing#token"));
  assert.notEqual(missing.code, 0);
  assert.equal(missing.stdout, "", "no partial output");
  assert.match(missing.stderr, /team-a\/missing/);
  assert.doesNotMatch(missing.stderr, /inline-pw|inline-token|AKIA|ASIA/);
});

function cli(args: string[], stdin: string): Promise<RefsyncRun> {
  return runRefsync(args, { cwd: repo, env: awsEnv(), stdin });
}
