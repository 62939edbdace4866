// The AWS test server's Secrets Manager answers checked against botocore's
// own service model (service-2.json from Debian's awscli): every member of
// every response exists in the operation's output shape with the right JSON
// type, and every error code is one the model or AWS's common errors list.
import assert from "node:assert/strict";
import { request } from "node:http";
import { globSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { AWS_CLI, requireTool } from "../system-tools.ts";
import { startAwsServer, type AwsTestServer, type Credentials } from "./index.ts";

interface Shape {
  type: string;
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  exception?: boolean;
}

interface ServiceModel {
  operations: Record<
    string,
    { input?: { shape: string }; output?: { shape: string }; errors?: { shape: string }[] }
  >;
  shapes: Record<string, Shape>;
}

/** Where Debian's awscli (and a plain python3-botocore) keep the Secrets Manager model. */
const MODEL_GLOBS = [
  "/usr/lib/python3/dist-packages/awscli/botocore/data/secretsmanager/*/service-2.json*",
  "/usr/lib/python3/dist-packages/botocore/data/secretsmanager/*/service-2.json*",
];

function loadModel(): ServiceModel {
  requireTool(AWS_CLI, "awscli");
  const [path] = MODEL_GLOBS.flatMap((pattern) => globSync(pattern)).sort();
  if (path === undefined) throw new Error(`no Secrets Manager service model under ${MODEL_GLOBS.join(", ")}`);
  const bytes = readFileSync(path);
  return JSON.parse((path.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8")) as ServiceModel;
}

/**
 * Errors of AWS's front end and IAM that the model does not list per operation
 * (Secrets Manager API reference, "Common Errors"; the awsJson1_1 signature
 * errors; ValidationException for input that fails the model's constraints).
 */
const COMMON_ERRORS = new Set([
  "AccessDeniedException",
  "IncompleteSignature",
  "InternalFailure",
  "InvalidAction",
  "InvalidClientTokenId",
  "NotAuthorized",
  "OptInRequired",
  "RequestExpired",
  "ServiceUnavailable",
  "ThrottlingException",
  "ValidationError",
  "ValidationException",
  "MissingAuthenticationTokenException",
  "InvalidSignatureException",
  "UnrecognizedClientException",
  "ExpiredTokenException",
  "UnknownOperationException",
  "SerializationException",
]);

/** The members of BatchGetSecretValue's entries (API reference), for a model older than the operation. */
const SECRET_VALUE_ENTRY = "GetSecretValueResponse";
const API_ERROR_TYPE: Shape = {
  type: "structure",
  members: {
    SecretId: { shape: "SecretIdType" },
    ErrorCode: { shape: "ErrorMessage" },
    Message: { shape: "ErrorMessage" },
  },
};

let model: ServiceModel;
let server: AwsTestServer;
let admin: Credentials;
let narrow: Credentials;

before(async () => {
  model = loadModel();
  server = await startAwsServer();
  admin = server.addUser({ name: "admin", read: ["*"], write: ["*"] });
  narrow = server.addUser({ name: "narrow", read: ["team-a/*"], list: false });
  server.putSecret("team-a/db", "first", { tags: { team: "a" }, description: "the database" });
  server.putSecret("team-a/db", "second");
  server.putSecret("team-a/cert", new Uint8Array([1, 2, 3]));
});

after(() => server.close());

interface Raw {
  status: number;
  body: Record<string, unknown>;
}

/** One signed awsJson1_1 call, its JSON answer as it came over the wire. */
async function call(operation: string, input: unknown, credentials: Credentials = admin): Promise<Raw> {
  const url = new URL(server.endpoint);
  const body = JSON.stringify(input);
  const signer = new SignatureV4({
    credentials,
    region: server.region,
    service: "secretsmanager",
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: {
      host: url.host,
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `secretsmanager.${operation}`,
    },
    body,
  });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: "POST", path: "/", headers: signed.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          try {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Problems of `value` against `shape`, each naming its path. */
function conform(value: unknown, shapeName: string, path: string, shape = model.shapes[shapeName]): string[] {
  if (!shape) return [`${path}: shape ${shapeName} is not in the model`];
  const wrong = (expected: string) => [`${path}: ${JSON.stringify(value)} is not ${expected} (${shapeName})`];
  switch (shape.type) {
    case "string":
    case "blob": // base64 on the wire
      return typeof value === "string" ? [] : wrong("a string");
    case "timestamp": // awsJson1_1: epoch seconds
      return typeof value === "number" ? [] : wrong("epoch seconds");
    case "integer":
    case "long":
      return Number.isInteger(value) ? [] : wrong("an integer");
    case "boolean":
      return typeof value === "boolean" ? [] : wrong("a boolean");
    case "list":
      if (!Array.isArray(value)) return wrong("a list");
      return value.flatMap((item, i) => conform(item, shape.member?.shape ?? "", `${path}[${i}]`));
    case "map":
      if (typeof value !== "object" || value === null || Array.isArray(value)) return wrong("a map");
      return Object.entries(value).flatMap(([k, v]) => [
        ...conform(k, shape.key?.shape ?? "", `${path} key`),
        ...conform(v, shape.value?.shape ?? "", `${path}.${k}`),
      ]);
    case "structure": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return wrong("a structure");
      return Object.entries(value).flatMap(([member, v]) => {
        const ref = shape.members?.[member];
        if (!ref) return [`${path}.${member}: not a member of ${shapeName}`];
        return conform(v, ref.shape, `${path}.${member}`);
      });
    }
    default:
      return [`${path}: unknown shape type ${shape.type}`];
  }
}

/** Checks a successful answer against the operation's output shape. */
function assertOutput(operation: string, raw: Raw): void {
  assert.equal(raw.status, 200, `${operation}: ${JSON.stringify(raw.body)}`);
  const output = model.operations[operation]?.output?.shape;
  if (output !== undefined) {
    assert.deepEqual(conform(raw.body, output, operation), []);
    return;
  }
  // A model from before BatchGetSecretValue (Debian bookworm's awscli 2.9): its entries are
  // GetSecretValue's members, its errors SecretId/ErrorCode/Message (API reference).
  assert.equal(operation, "BatchGetSecretValue", `${operation} is not in botocore's model`);
  const { SecretValues, Errors, NextToken, ...rest } = raw.body;
  assert.deepEqual(Object.keys(rest), [], "BatchGetSecretValue has SecretValues, Errors and NextToken only");
  assert.ok(NextToken === undefined || typeof NextToken === "string");
  const problems = [
    ...(SecretValues as unknown[]).flatMap((v, i) => conform(v, SECRET_VALUE_ENTRY, `SecretValues[${i}]`)),
    ...(Errors as unknown[]).flatMap((e, i) => conform(e, "APIErrorType", `Errors[${i}]`, API_ERROR_TYPE)),
  ];
  assert.deepEqual(problems, []);
}

/** Checks an error answer: a modelled (or common) code, and the `__type` + message body shape. */
function assertError(operation: string, raw: Raw, code: string): void {
  assert.equal(raw.body.__type, code, `${operation}: ${JSON.stringify(raw.body)}`);
  const modelled = (model.operations[operation]?.errors ?? []).map((e) => e.shape);
  assert.ok(
    modelled.includes(code) || COMMON_ERRORS.has(code) || operation === "BatchGetSecretValue",
    `${operation}: ${code} is neither modelled for it nor a common error`,
  );
  const shape = model.shapes[code];
  if (shape?.exception) {
    const { __type, ...members } = raw.body;
    assert.deepEqual(conform(members, code, code), [], "a modelled exception sends its own members");
    assert.equal(typeof members.Message, "string");
  } else {
    // IAM's AccessDeniedException says `Message`, AWS's front end `message`; botocore reads both.
    assert.equal(Object.keys(raw.body).length, 2, JSON.stringify(raw.body));
    assert.equal(typeof (raw.body.message ?? raw.body.Message), "string");
  }
  assert.ok(raw.status === 400 || raw.status >= 500, `status ${raw.status}`);
}

void test("the server implements only operations of botocore's model (BatchGetSecretValue may postdate it)", async () => {
  const implemented = [
    "GetSecretValue",
    "DescribeSecret",
    "ListSecrets",
    "ListSecretVersionIds",
    "CreateSecret",
    "PutSecretValue",
  ];
  for (const operation of implemented) assert.ok(model.operations[operation], `${operation} is not modelled`);
  const unknown = await call("GetSecretValues", { SecretId: "team-a/db" });
  assert.equal(unknown.body.__type, "UnknownOperationException");
});

void test("successful answers conform to the model's output shapes", async () => {
  const arn = server.secretArn("team-a/db");
  const partial = arn.replace(/-[A-Za-z0-9]{6}$/, "");
  assertOutput("GetSecretValue", await call("GetSecretValue", { SecretId: partial }));
  assertOutput("GetSecretValue", await call("GetSecretValue", { SecretId: "team-a/cert" }));
  assertOutput(
    "GetSecretValue",
    await call("GetSecretValue", { SecretId: arn, VersionStage: "AWSPREVIOUS" }),
  );
  assertOutput("DescribeSecret", await call("DescribeSecret", { SecretId: partial }));
  assertOutput("ListSecrets", await call("ListSecrets", { MaxResults: 1 }));
  assertOutput("ListSecrets", await call("ListSecrets", { Filters: [{ Key: "tag-key", Values: ["team"] }] }));
  assertOutput(
    "ListSecretVersionIds",
    await call("ListSecretVersionIds", { SecretId: partial, IncludeDeprecated: true }),
  );
  const created = await call("CreateSecret", {
    Name: "team-a/new",
    SecretString: "v",
    ClientRequestToken: "00000000-0000-4000-8000-000000000001",
    Tags: [{ Key: "team", Value: "a" }],
  });
  assertOutput("CreateSecret", created);
  assertOutput("PutSecretValue", await call("PutSecretValue", { SecretId: "team-a/new", SecretString: "w" }));
  const batch = await call("BatchGetSecretValue", {
    SecretIdList: [partial, "team-a/cert", "team-a/missing"],
  });
  assertOutput("BatchGetSecretValue", batch);
  assert.equal((batch.body.SecretValues as unknown[]).length, 2);
  assertOutput(
    "BatchGetSecretValue",
    await call("BatchGetSecretValue", { Filters: [{ Key: "name", Values: ["team-a/"] }] }),
  );
});

void test("errors are modelled codes with the model's members", async () => {
  assertError(
    "GetSecretValue",
    await call("GetSecretValue", { SecretId: "team-a/missing" }),
    "ResourceNotFoundException",
  );
  assertError(
    "GetSecretValue",
    await call("GetSecretValue", { SecretId: "team-a/db", VersionStage: "NOPE" }),
    "ResourceNotFoundException",
  );
  assertError("GetSecretValue", await call("GetSecretValue", {}), "InvalidParameterException");
  assertError(
    "GetSecretValue",
    await call("GetSecretValue", { SecretId: "no spaces" }),
    "ValidationException",
  );
  assertError(
    "DescribeSecret",
    await call("DescribeSecret", { SecretId: "team-b/x" }, narrow),
    "AccessDeniedException",
  );
  assertError("ListSecrets", await call("ListSecrets", {}, narrow), "AccessDeniedException");
  assertError("ListSecrets", await call("ListSecrets", { NextToken: "bm9wZQ" }), "InvalidNextTokenException");
  assertError(
    "CreateSecret",
    await call("CreateSecret", { Name: "team-a/db", SecretString: "x" }),
    "ResourceExistsException",
  );
  assertError(
    "CreateSecret",
    await call("CreateSecret", { Name: "a*b", SecretString: "x" }),
    "ValidationException",
  );
  assertError(
    "BatchGetSecretValue",
    await call("BatchGetSecretValue", { Filters: [{ Key: "name", Values: ["team-a/"] }] }, narrow),
    "AccessDeniedException",
  );
  const unsigned = await call(
    "GetSecretValue",
    { SecretId: "team-a/db" },
    { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" },
  );
  assertError("GetSecretValue", unsigned, "UnrecognizedClientException");
});
