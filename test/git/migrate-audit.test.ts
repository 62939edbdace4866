// `refsync migrate --audit-log`: every backend write (and the reads around it)
// against the AWS test server is one audit record naming the repository and
// branch it was made for, with the x-amzn-RequestId the server answered;
// never a value.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { migrateCommand } from "../../src/cli/migrate.ts";
import { verifyAudit, type ChainedRecord } from "../../src/store/audit.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import { collector } from "./io.ts";
import { createRepo, type TestRepo } from "./repo.ts";

const PASSWORD = "migrate-audit-Passw0rd-3b9d";
let aws: AwsTestServer;
let repo: TestRepo;
const savedEnv = { ...process.env };

before(async () => {
  aws = await startAwsServer();
  const key = aws.addUser({ name: "migrator", read: ["moved/*"], write: ["moved/*"] });
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: "true",
  });
  repo = createRepo("refsync-migrate-audit-");
  repo.write(
    "apps/db/secret.yaml",
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ntype: Opaque\nstringData:\n  password: ${PASSWORD}\n`,
  );
  repo.write(
    "refsync.yaml",
    JSON.stringify({
      stores: {
        aws: {
          provider: {
            aws: { region: aws.region, endpoints: { secretsManager: aws.endpoint, sts: aws.endpoint } },
          },
        },
      },
      defaultStores: { awssecrets: "aws" },
    }),
  );
  repo.commit("plaintext", "2024-01-01T00:00:00Z");
});

after(async () => {
  process.env = savedEnv;
  repo?.remove();
  await aws?.close();
});

void test("refsync migrate audits its backend writes, joined by request ID", async () => {
  const file = join(repo.dir, "..", `${repo.dir.split("/").at(-1)}-audit.jsonl`);
  const io = collector();
  aws.clearRequests();
  const code = await migrateCommand(
    [repo.dir, "--store", "aws", "--path-prefix", "moved", "--audit-log", `file:${file}`, "--no-checkout"],
    io,
  );
  assert.equal(code, 0, io.err());
  const text = readFileSync(file, "utf8");
  assert.ok(!text.includes(PASSWORD), "a value reached the audit stream");
  assert.ok(verifyAudit([file]).ok);
  const records = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ChainedRecord);
  assert.equal(records.length, aws.requests.length, "one record per backend request");
  for (const [i, r] of records.entries()) {
    assert.equal(r.requestId, aws.requests[i]?.requestId);
    assert.equal(r.operation, aws.requests[i]?.operation);
    assert.deepEqual(r.subjects, [{ kind: "Repository", name: repo.dir, branch: "refsync/migrate" }]);
    assert.equal(r.actor.component, "cli");
  }
  const writes = records.filter((r) => /^(CreateSecret|PutSecretValue)$/.test(r.operation));
  assert.ok(writes.length >= 1, JSON.stringify(records.map((r) => r.operation)));
  assert.ok(writes.every((w) => w.outcome === "ok" && w.keys?.some((k) => k.key === "moved/prod/db")));
  for (const r of aws.requests) assert.match(r.userAgent ?? "", /refsync\//);
  // A bad --audit-log is a usage error before anything is written.
  assert.equal(
    await migrateCommand([repo.dir, "--store", "aws", "--path-prefix", "x", "--audit-log", "stdout"], io),
    2,
  );
  assert.match(io.err(), /--audit-log: stdout carries the command's output/);
});
