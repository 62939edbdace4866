/**
 * Inline mode's audit records against the AWS test server: every backend
 * request (the batch read and the failed one) yields a chained record naming
 * the Argo CD application, project, revision and path it served, the
 * x-amzn-RequestId the server answered with, and never a value; the requests
 * carry refsync's version and namespace in their user agent.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { Auditor, AuditWriter, verifyAudit, type ChainedRecord } from "../../src/store/audit.ts";
import type { KubernetesSecretReader } from "../../src/providers/types.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";

let aws: AwsTestServer;
let key: { accessKeyId: string; secretAccessKey: string };
const PASSWORD = "audit-inline-Passw0rd-7f3a";
const USER = "audit-user-e91c";

before(async () => {
  aws = await startAwsServer();
  key = aws.addUser({ name: "plugin", read: ["team-a/*"] });
  for (const name of ["team-a/db", "team-a/api", "team-a/cache"]) {
    aws.putSecret(name, JSON.stringify({ user: USER, password: PASSWORD }));
  }
});

after(async () => {
  await aws?.close();
});

/** Credentials from a Secret in "plugin", without a cluster. */
const kubernetes = (): Promise<KubernetesSecretReader> =>
  Promise.resolve({
    readSecret: (_namespace: string, _name: string) =>
      Promise.resolve({
        data: { id: Buffer.from(key.accessKeyId), secret: Buffer.from(key.secretAccessKey) },
      }),
    listSecrets: () => Promise.resolve([]),
  });

function config() {
  const secretRef = {
    accessKeyIDSecretRef: { name: "aws", key: "id", namespace: "plugin" },
    secretAccessKeySecretRef: { name: "aws", key: "secret", namespace: "plugin" },
  };
  return parseConfig(
    JSON.stringify({
      stores: {
        aws: {
          provider: {
            aws: {
              region: aws.region,
              endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint },
              auth: { secretRef },
            },
          },
        },
      },
      defaultStores: { awssecrets: "aws" },
      modes: ["inline"],
      policy: [{ projects: ["team-a"], stores: ["aws"], paths: ["team-a/"] }],
    }),
    "refsync.yaml",
  );
}

function manifests(keys: string[]): string {
  return keys
    .map(
      (k, i) =>
        `apiVersion: v1\nkind: Secret\nmetadata: {name: s${i}}\nstringData:\n  url: "db://ref+awssecrets://${k}#user+:ref+awssecrets://${k}#password+@h"\n`,
    )
    .join("---\n");
}

void test("inline reads yield chained records naming the Argo CD application and the backend request ID", async () => {
  aws.clearRequests();
  const file = path.join(mkdtempSync(path.join(tmpdir(), "refsync-audit-")), "audit.jsonl");
  const writer = new AuditWriter(file);
  const subjects = [
    { kind: "Application" as const, name: "shop", project: "team-a", revision: "abc123", path: "apps/shop" },
  ];
  for (const keys of [
    ["team-a/db", "team-a/api", "team-a/cache", "team-a/db"],
    ["team-a/db", "team-a/missing"],
  ]) {
    await render({
      input: "-",
      mode: "inline",
      config: config(),
      requester: { project: "team-a", namespace: "plugin" },
      stdin: () => Promise.resolve(manifests(keys)),
      kubernetes,
      audit: { auditor: new Auditor(writer, { component: "plugin", version: "test" }), subjects },
    });
  }
  writer.close();
  const text = readFileSync(file, "utf8");
  assert.ok(!text.includes(PASSWORD) && !text.includes(USER), "a value reached the audit stream");
  assert.equal(verifyAudit([file]).ok, true);

  const records = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ChainedRecord);
  const served = aws.requests.filter((r) => r.service === "secretsmanager");
  assert.equal(records.length, served.length, "one record per backend request");
  for (const r of records) {
    assert.deepEqual(r.subjects, subjects);
    assert.equal(r.actor.component, "plugin");
    assert.equal(r.store, "aws");
    assert.ok(
      served.some((s) => s.requestId === r.requestId),
      `${r.operation}: request id ${r.requestId} not logged by the server`,
    );
  }
  const batch = records.find((r) => r.operation === "BatchGetSecretValue");
  assert.deepEqual(batch?.keys?.map((k) => k.key).sort(), ["team-a/api", "team-a/cache", "team-a/db"]);
  assert.equal(batch?.outcome, "ok");
  assert.ok(
    records.some((r) => r.keys?.some((k) => k.key === "team-a/missing")),
    "the missing secret's read is recorded",
  );
  // The plugin acts for no namespace: its requests carry the refsync version (the controller adds ns/<namespace>).
  for (const s of served) assert.match(s.userAgent ?? "", /refsync\/\d+\.\d+/);
});
