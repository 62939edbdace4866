/**
 * Issue 21's "done when", for the controller: ExternalSecrets on fake,
 * Vault and AWS stores, three per store sharing one key, synced while the
 * backends answer slowly so that they share one backend read. Then:
 * every request in the Vault and AWS test servers' request logs has exactly
 * one audit record naming it by the request ID the server answered with,
 * every record's request ID is one the server logged, each shared read's
 * record lists the three ExternalSecrets (namespace, name, UID) it served,
 * and Vault requests carry the X-Refsync-Subject header naming them. No
 * value reaches the stream; the chain verifies.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { ExternalSecret, SecretStore } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { Auditor, AuditWriter, verifyAudit, type ChainedRecord } from "../../src/store/audit.ts";
import { awsStore, staticKeysAuth } from "../aws/fixtures.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import {
  applyKubernetesAuthStore,
  grantNamespace,
  startNamespaceSuite,
  type NamespaceSuite,
} from "../vault/setup.ts";
import { applyObject, externalSecret, fakeStore, waitFor, waitForCondition } from "./harness.ts";

const VALUE = "audit-join-Passw0rd-81f0";
const STORES = ["vault", "aws", "fake"] as const;
let suite: NamespaceSuite;
let aws: AwsTestServer;
let file: string;

before(async () => {
  file = path.join(mkdtempSync(path.join(tmpdir(), "refsync-audit-join-")), "audit.jsonl");
  suite = await startNamespaceSuite(
    "audit-join",
    {},
    {
      // A worker for every ExternalSecret: none waits in the queue while the shared reads are in flight.
      workers: 12,
      audit: new Auditor(new AuditWriter(file), { component: "controller", version: "test", replica: "r0" }),
    },
  );
  aws = await startAwsServer();
});

after(async () => {
  await aws?.close();
  await suite?.stop();
});

const records = (): ChainedRecord[] =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as ChainedRecord);
const ids = (r: ChainedRecord): string[] => r.requestId?.split(",") ?? [];

/** Each logged request id is named by exactly one record, and every id a record names was logged. */
function join(of: ChainedRecord[], logged: readonly { requestId?: string }[], what: string): void {
  const served = logged.map((l) => l.requestId).filter((id): id is string => id !== undefined);
  assert.ok(served.length > 0, `${what}: the server logged request ids`);
  for (const id of served) {
    const naming = of.filter((r) => ids(r).includes(id));
    assert.equal(naming.length, 1, `${what}: request ${id} named by ${naming.length} records`);
  }
  for (const r of of)
    for (const id of ids(r)) assert.ok(served.includes(id), `${what}: ${r.operation} names unlogged ${id}`);
}

void test("every backend request has exactly one record naming it; shared reads list every ExternalSecret", async () => {
  const { ns, ctl, vault, cluster } = suite;
  grantNamespace(vault, ns);
  vault.root.putSecret("secret", `${ns}/db`, { password: VALUE });
  const user = aws.addUser({ name: "controller", read: [`${ns}/*`] });
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: VALUE }));
  const stores = {
    aws: awsStore(
      aws,
      { name: "aws", namespace: ns },
      { auth: await staticKeysAuth(cluster.kc, ns, "aws-keys", user) },
    ),
    fake: fakeStore(ns, "fake", [{ key: `${ns}/db`, value: JSON.stringify({ password: VALUE }) }]),
  };
  await applyKubernetesAuthStore(ctl.kube, vault, ns, { name: "vault" });
  await applyObject(ctl.kube, stores.aws);
  await applyObject(ctl.kube, stores.fake);
  // Stores ready first: otherwise an ExternalSecret that waited for its store finds the value cached.
  for (const store of STORES)
    await waitFor(async () => {
      const s = await ctl.kube.get<SecretStore>(resourceTypes.secretStore, ns, store);
      return s?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? s : undefined;
    }, `SecretStore ${store} Ready`);

  // Slow answers: the three ExternalSecrets of a store join the one read in flight.
  aws.setLatency(3000);
  vault.faults.delayMs = 3000;
  const names = STORES.flatMap((store) => ["a", "b", "c"].map((n) => ({ store, name: `${store}-${n}` })));
  try {
    await Promise.all(
      names.map(({ store, name }) =>
        applyObject(
          ctl.kube,
          externalSecret(ns, name, {
            secretStoreRef: { name: store },
            refreshInterval: "1h",
            data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
          }),
        ),
      ),
    );
    for (const { name } of names) await waitForCondition(ctl.kube, ns, name, "Ready", "True");
  } finally {
    aws.setLatency(0);
    vault.faults.delayMs = 0;
  }

  const text = readFileSync(file, "utf8");
  assert.ok(!text.includes(VALUE), "a value reached the audit stream");
  assert.ok(verifyAudit([file]).ok);
  const all = records();
  const uid = async (name: string) =>
    (await ctl.kube.get<ExternalSecret>(resourceTypes.externalSecret, ns, name))?.metadata.uid;
  const expected = async (store: string) =>
    Promise.all(["a", "b", "c"].map(async (n) => `${ns}/${store}-${n}/${await uid(`${store}-${n}`)}`));
  const subjects = (r: ChainedRecord) =>
    r.subjects
      .map((s) => (s.kind === "ExternalSecret" ? `${s.namespace}/${s.name}/${s.uid}` : s.name))
      .sort();

  // Vault: the login and the one read, each named by exactly one record.
  const vaultRecords = all.filter((r) => r.provider === "vault");
  join(vaultRecords, vault.requests, "vault");
  const vaultReads = vault.requests.filter((r) => r.path === `secret/data/${ns}/db`);
  assert.equal(vaultReads.length, 1, "one Vault read for the three");
  const vaultRead = vaultRecords.find((r) => ids(r).includes(vaultReads[0]?.requestId ?? "-"));
  assert.deepEqual(subjects(vaultRead!), await expected("vault"));
  assert.equal(vaultRead?.store, `SecretStore/${ns}/vault`);
  assert.ok(vaultRead?.identity?.accessor, "the record names the token accessor");
  const header = String(vaultReads[0]?.headers["x-refsync-subject"]);
  assert.match(header, new RegExp(`^refsync/\\S+ ns/${ns} es/${ns}/vault-[abc]`));

  // AWS: each HTTP request by x-amzn-RequestId; the one read lists the three.
  const awsRecords = all.filter((r) => r.provider === "awssecrets");
  join(awsRecords, aws.requests, "aws");
  assert.equal(awsRecords.length, aws.requests.length, "aws: one record per request");
  const awsReads = awsRecords.filter((r) => /GetSecretValue$/.test(r.operation));
  assert.equal(awsReads.length, 1, JSON.stringify(awsReads));
  assert.deepEqual(subjects(awsReads[0]!), await expected("aws"));
  const read = aws.requests.find((r) => r.requestId === awsReads[0]?.requestId);
  assert.match(read?.userAgent ?? "", new RegExp(`refsync/\\S+ .*ns/${ns}.* es/${ns}/aws-[abc]`));

  // Fake: no server and no request id; the one read lists the three it served.
  const fakeReads = all.filter((r) => r.provider === "fake" && r.operation === "read");
  assert.equal(fakeReads.length, 1, JSON.stringify(fakeReads));
  assert.equal(fakeReads[0]?.requestId, undefined);
});
