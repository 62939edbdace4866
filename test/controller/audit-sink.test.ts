/**
 * A failing audit sink on a real API server. An audit file whose directory
 * does not exist yet (an unwritable file) and a full disk (/dev/full): with
 * the default (fail open) ExternalSecrets still sync; with --audit-required
 * (fail closed) they turn Ready=False naming the audit sink and make no
 * backend call, and once the file can be written they sync by themselves and
 * every record, the ones that waited included, is in the file, chained.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Auditor, AuditWriter, verifyAudit, type AuditRecord } from "../../src/store/audit.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  startTestController,
  waitForCondition,
  type TestController,
} from "./harness.ts";

let cluster: Cluster;
const controllers: TestController[] = [];

before(async () => {
  cluster = await startCluster({ crds: true });
});
after(async () => {
  for (const ctl of controllers) await ctl.stop();
  await cluster?.stop();
});

/** A namespace with a fake store and a controller auditing to `target` (required or not). */
async function setup(prefix: string, target: string, required: boolean) {
  const ns = await cluster.createNamespace(prefix);
  const records: AuditRecord[] = [];
  const audit = new Auditor(
    new AuditWriter(target),
    { component: "controller", version: "test" },
    {
      required,
      onRecord: (r) => records.push(r),
    },
  );
  const ctl = await startTestController(cluster, { namespace: ns, audit });
  controllers.push(ctl);
  await applyObject(ctl.kube, fakeStore(ns, "fake", [{ key: "db", value: "audit-sink-v4lue" }]));
  const es = (name: string) =>
    applyObject(
      ctl.kube,
      externalSecret(ns, name, {
        secretStoreRef: { name: "fake" },
        refreshInterval: "1h",
        data: [{ secretKey: "value", remoteRef: { key: "db" } }],
      }),
    );
  return { ns, ctl, records, es };
}

void test("fail open (default): a full disk or an unwritable file does not stop syncing", async () => {
  for (const target of ["file:/dev/full", path.join(tmpdir(), "refsync-no-such-dir-7c1e", "audit.jsonl")]) {
    const { ns, ctl, records, es } = await setup("audit-open", target, false);
    await es("open");
    await waitForCondition(ctl.kube, ns, "open", "Ready", "True");
    assert.ok(
      records.some((r) => r.operation === "read"),
      `${target}: the read was audited (queued)`,
    );
  }
});

void test("fail closed (--audit-required): no backend call until the sink writes, then every record lands", async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), "refsync-audit-closed-")), "later");
  const file = path.join(dir, "audit.jsonl");
  const { ns, ctl, records, es } = await setup("audit-closed", `file:${file}`, true);
  await es("closed");
  const failed = await waitForCondition(ctl.kube, ns, "closed", "Ready", "False");
  const ready = failed.status?.conditions?.find((c) => c.type === "Ready");
  assert.match(ready?.message ?? "", /audit sink failing \(ENOENT.*--audit-required/);
  assert.ok(!records.some((r) => r.operation === "read"), "no backend read while the sink fails");
  mkdirSync(dir);
  await waitForCondition(ctl.kube, ns, "closed", "Ready", "True");
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  assert.ok(verifyAudit([file]).ok);
  assert.equal(lines.length, records.length, "every record written, the queued ones first");
  assert.ok(lines.some((l) => (JSON.parse(l) as AuditRecord).operation === "read"));

  // A full disk: the same refusal, naming the error.
  const full = await setup("audit-full", "file:/dev/full", true);
  await full.es("full");
  // The store's validation is a backend call too: its record is the first that cannot be written.
  const stuck = await waitForCondition(full.ctl.kube, full.ns, "full", "Ready", "False");
  assert.match(stuck.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "", /ENOSPC/);
});
