import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import {
  Auditor,
  AuditWriter,
  GENESIS,
  auditScope,
  chainLine,
  verifyAudit,
  type AuditRecord,
} from "./audit.ts";
import { AuditWindow } from "./audit-window.ts";
import { auditRecord as record } from "../../test/fixtures/audit-record.ts";

function written(n: number): { file: string; lines: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), "refsync-audit-"));
  const file = path.join(dir, "audit.jsonl");
  const w = new AuditWriter(file);
  for (let i = 0; i < n; i++) w.write(record(i));
  w.close();
  return { file, lines: readFileSync(file, "utf8").trimEnd().split("\n") };
}

void describe("audit chain", () => {
  void it("chains every record to the one before, from genesis", () => {
    const { file, lines } = written(3);
    const parsed = lines.map((l) => JSON.parse(l) as { prev: string; hash: string });
    assert.equal(parsed[0]?.prev, GENESIS);
    assert.equal(parsed[1]?.prev, parsed[0]?.hash);
    assert.equal(parsed[2]?.prev, parsed[1]?.hash);
    assert.deepEqual(verifyAudit([file]), { ok: true, records: 3, lastHash: parsed[2]?.hash });
  });

  void it("continues the chain when the file is reopened", () => {
    const { file } = written(2);
    const w = new AuditWriter(file);
    w.write(record(9));
    w.close();
    const result = verifyAudit([file]);
    assert.equal(result.ok && result.records, 3);
  });

  void it("continues across a rotation: the new file's first record names the old file's last hash", () => {
    const { file } = written(2);
    const rotated = `${file}.2`;
    const old = new AuditWriter(file);
    const w = new AuditWriter(rotated, { prev: old.lastHash });
    old.close();
    w.write(record(5));
    w.close();
    assert.equal(verifyAudit([file, rotated]).ok, true);
    // Out of order, the chain breaks at the first record of the file that comes second.
    const reversed = verifyAudit([rotated, file]);
    assert.deepEqual(reversed.ok ? undefined : [reversed.file, reversed.line], [file, 1]);
  });

  const broken = (mutate: (lines: string[]) => string[], want: number) => {
    const { file, lines } = written(4);
    writeFileSync(file, mutate([...lines]).join("\n") + "\n");
    const result = verifyAudit([file]);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.line, want, result.problem);
  };

  void it("names an edited line", () =>
    broken((l) => l.map((x, i) => (i === 2 ? x.replace("app/2", "app/X") : x)), 3));
  void it("names the line after a deleted one", () => broken((l) => l.filter((_, i) => i !== 1), 2));
  void it("names a reordered line", () => broken((l) => [l[0], l[2], l[1], l[3]] as string[], 2));
  void it("names the line after an inserted record, even one forged with a valid hash", () => {
    const { file, lines } = written(4);
    const before = JSON.parse(lines[1] as string) as { hash: string };
    const forged = chainLine({ ...record(7), operation: "write" }, before.hash).line;
    writeFileSync(file, [...lines.slice(0, 2), forged, ...lines.slice(2)].join("\n") + "\n");
    const result = verifyAudit([file]);
    assert.deepEqual(result.ok ? undefined : result.line, 4);
  });
  void it("names a record removed at the boundary of two rotated files", () => {
    const { file } = written(2);
    const next = `${file}.next`;
    const w = new AuditWriter(next, { prev: new AuditWriter(file).lastHash });
    for (let i = 2; i < 5; i++) w.write(record(i));
    w.close();
    assert.equal(verifyAudit([file, next]).ok, true);
    writeFileSync(next, readFileSync(next, "utf8").split("\n").slice(1).join("\n"));
    const result = verifyAudit([file, next]);
    assert.deepEqual(result.ok ? undefined : [result.file, result.line], [next, 1]);
  });
  void it("names a chained line that is not an audit record (a field the schema does not have)", () => {
    const { file, lines } = written(2);
    const last = JSON.parse(lines[1] as string) as { hash: string };
    const odd = chainLine({ ...record(2), value: "s3cret" } as AuditRecord, last.hash).line;
    writeFileSync(file, [...lines, odd].join("\n") + "\n");
    const result = verifyAudit([file]);
    assert.deepEqual(result.ok ? undefined : [result.line, result.problem], [
      3,
      'not an audit record (record: Unrecognized key: "value")',
    ]);
  });
  void it("names a line that is not JSON", () => broken((l) => [l[0], "junk", ...l.slice(1)] as string[], 2));

  void it("records the scope's subjects, including ones that joined after the call began", () => {
    const lines: string[] = [];
    const auditor = new Auditor(
      new AuditWriter({ write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream),
      { component: "plugin", version: "1" },
    );
    const subjects = [{ kind: "ExternalSecret" as const, namespace: "a", name: "one" }];
    auditScope.run({ subjects: () => subjects, keys: () => [{ key: "k" }] }, () => {
      subjects.push({ kind: "ExternalSecret", namespace: "b", name: "two" });
      auditor.record(
        { store: "s", provider: "aws", operation: "GetSecretValue", result: "throttled", seconds: 0.5 },
        { requestId: "req-1" },
      );
    });
    const r = JSON.parse(lines[0] as string) as AuditRecord;
    assert.equal(r.subjects.length, 2);
    assert.equal(r.outcome, "throttled");
    assert.equal(r.requestId, "req-1");
    assert.deepEqual(r.keys, [{ key: "k" }]);
  });
});

void describe("audit window", () => {
  void it("keeps the newest records and filters by subject, store, key, outcome and time", () => {
    const window = new AuditWindow(3);
    const auditor = new Auditor({ write: () => {} }, { component: "controller", version: "t" }, { window });
    for (let i = 0; i < 4; i++) {
      const subjects = [
        { kind: "ExternalSecret" as const, namespace: i % 2 ? "odd" : "even", name: `es-${i}` },
      ];
      auditScope.run({ subjects: () => subjects, keys: () => [{ key: `k${i}` }] }, () =>
        auditor.record({
          store: `s${i % 2}`,
          provider: "fake",
          operation: "read",
          result: i === 3 ? "denied" : "success",
          seconds: 0,
        }),
      );
    }
    const names = (f: Parameters<AuditWindow["query"]>[0]) =>
      window.query(f).map((r) => r.subjects.map((s) => s.name).join());
    assert.deepEqual(names({}), ["es-3", "es-2", "es-1"], "newest first, the oldest forgotten");
    assert.deepEqual(names({ namespace: "odd" }), ["es-3", "es-1"]);
    assert.deepEqual(names({ namespace: "odd", name: "es-1" }), ["es-1"]);
    assert.deepEqual(names({ store: "s0" }), ["es-2"]);
    assert.deepEqual(names({ key: "k2" }), ["es-2"]);
    assert.deepEqual(names({ outcome: "denied" }), ["es-3"]);
    assert.deepEqual(names({ since: "2999-01-01T00:00:00Z" }), []);
    assert.deepEqual(names({ until: "2999-01-01T00:00:00Z", limit: 1 }), ["es-3"]);
  });
});
