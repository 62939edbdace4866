// Audit records of the controller against the AWS test server: one backend
// read shared by three ExternalSecrets is one record listing all three, with
// the x-amzn-RequestId the server answered with, and no value in the stream.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { Auditor, AuditWriter, verifyAudit, type ChainedRecord } from "../../src/store/audit.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  startTestController,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import { awsStore } from "./fixtures.ts";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

let cluster: Cluster;
let aws: AwsTestServer;
let ns: string;
let ctl: TestController;
let file: string;
const PASSWORD = "audit-shared-Passw0rd-5d21";
const savedEnv = { ...process.env };

before(async () => {
  cluster = await startCluster({ crds: true });
  aws = await startAwsServer();
  ns = await cluster.createNamespace("aws-audit");
  const user = aws.addUser({ name: "controller", read: [`${ns}/*`] });
  process.env["AWS_ACCESS_KEY_ID"] = user.accessKeyId;
  process.env["AWS_SECRET_ACCESS_KEY"] = user.secretAccessKey;
  process.env["AWS_EC2_METADATA_DISABLED"] = "true";
  aws.putSecret(`${ns}/shared`, JSON.stringify({ password: PASSWORD }));
  file = path.join(mkdtempSync(path.join(tmpdir(), "refsync-audit-")), "audit.jsonl");
  ctl = await startTestController(cluster, {
    namespace: ns,
    audit: new Auditor(new AuditWriter(file), { component: "controller", version: "test", replica: "r0" }),
  });
});

after(async () => {
  process.env = savedEnv;
  await ctl?.stop();
  await aws?.close();
  await cluster?.stop();
});

void test("one shared read serving three ExternalSecrets is one record listing the three", async () => {
  await applyObject(ctl.kube, awsStore(aws, { name: "shared", namespace: ns }));
  // Slow answers, so the three syncs join the one read in flight.
  aws.setLatency(1500);
  aws.clearRequests();
  const names = ["a", "b", "c"];
  await Promise.all(
    names.map((name) =>
      applyObject(
        ctl.kube,
        externalSecret(ns, name, {
          secretStoreRef: { name: "shared" },
          refreshInterval: "1h",
          data: [{ secretKey: "password", remoteRef: { key: `${ns}/shared`, property: "password" } }],
        }),
      ),
    ),
  );
  for (const name of names) await waitForCondition(ctl.kube, ns, name, "Ready", "True");
  aws.setLatency(0);

  const text = readFileSync(file, "utf8");
  assert.ok(!text.includes(PASSWORD), "a value reached the audit stream");
  assert.equal(verifyAudit([file]).ok, true);
  const reads = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ChainedRecord)
    .filter((r) => /GetSecretValue$/.test(r.operation) && r.keys?.some((k) => k.key === `${ns}/shared`));
  const served = aws.requests.filter((r) => /GetSecretValue$/.test(r.operation));
  assert.equal(served.length, 1, "one backend read for the three");
  assert.equal(reads.length, 1, JSON.stringify(reads));
  const [read] = reads as [ChainedRecord];
  const uids = await Promise.all(
    names.map(
      async (n) => (await ctl.kube.get<ExternalSecret>(resourceTypes.externalSecret, ns, n))?.metadata.uid,
    ),
  );
  assert.deepEqual(
    read.subjects.map((s) => ("namespace" in s ? `${s.namespace}/${s.name}/${s.uid}` : s.name)).sort(),
    names.map((n, i) => `${ns}/${n}/${uids[i]}`),
  );
  assert.equal(read.requestId, served[0]?.requestId);
  assert.equal(read.store, `SecretStore/${ns}/shared`);
  assert.equal(read.outcome, "ok");
  assert.deepEqual(read.identity, { auth: "defaultChain" });
  assert.deepEqual(read.actor, { component: "controller", version: "test", replica: "r0" });
  assert.match(served[0]?.userAgent ?? "", new RegExp(`refsync/\\S+ .*ns/${ns}`));
});
