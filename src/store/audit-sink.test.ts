import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { AuditSinkError } from "../errors.ts";
import { Auditor, AuditWriter, GENESIS, verifyAudit, type AuditRecord } from "./audit.ts";
import { parseAuditTarget, parseSize } from "./audit-sink.ts";
import { auditRecord as record } from "../../test/fixtures/audit-record.ts";

const tmp = () => mkdtempSync(path.join(tmpdir(), "refsync-audit-sink-"));
const lines = (file: string) => readFileSync(file, "utf8").trimEnd().split("\n");
const actor = { component: "controller" as const, version: "t" };

void describe("audit sink targets", () => {
  void it("reads stdout, stderr, file:PATH and a bare path; - is the command's own stream", () => {
    assert.deepEqual(parseAuditTarget("stdout", "stderr"), { kind: "stdout" });
    assert.deepEqual(parseAuditTarget("stderr", "stdout"), { kind: "stderr" });
    assert.deepEqual(parseAuditTarget("-", "stderr"), { kind: "stderr" });
    assert.deepEqual(parseAuditTarget("file:/var/a.jsonl", "stdout"), { kind: "file", path: "/var/a.jsonl" });
    assert.deepEqual(parseAuditTarget("/var/a.jsonl", "stdout"), { kind: "file", path: "/var/a.jsonl" });
    assert.throws(() => parseAuditTarget("file:", "stdout"), /file:PATH/);
  });

  void it("reads sizes with SI and binary units", () => {
    assert.equal(parseSize("100Mi"), 100 * 1024 * 1024);
    assert.equal(parseSize("50M"), 50_000_000);
    assert.equal(parseSize("4096"), 4096);
    assert.throws(() => parseSize("ten"), /not a size/);
    assert.throws(() => parseSize("0"), /not a size/);
  });
});

void describe("audit file rotation", () => {
  void it("rotates by size, keeps maxFiles rotated files, and the set verifies as one chain", () => {
    const file = path.join(tmp(), "audit.jsonl");
    const w = new AuditWriter(`file:${file}`, { maxBytes: 1200, maxFiles: 2 });
    for (let i = 0; i < 30; i++) w.write(record(i));
    w.close();
    assert.ok(existsSync(`${file}.1`) && existsSync(`${file}.2`));
    assert.ok(!existsSync(`${file}.3`), "only two rotated files are kept");
    for (const f of [file, `${file}.1`, `${file}.2`])
      assert.ok(statSync(f).size <= 1200, `${f} within max size`);
    const set = [`${file}.2`, `${file}.1`, file];
    const result = verifyAudit(set);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.records, set.flatMap(lines).length);
    assert.equal(result.lastHash, w.lastHash);
    // The oldest kept file starts mid-chain: its first record continues a removed file.
    const first = JSON.parse(lines(`${file}.2`)[0] as string) as { prev: string };
    assert.notEqual(first.prev, GENESIS);
    // Newest file first is not the order they were written in.
    assert.equal(verifyAudit([file, `${file}.1`]).ok, false);
  });

  void it("a restarted writer continues the chain of the rotated set", () => {
    const file = path.join(tmp(), "audit.jsonl");
    const w = new AuditWriter(file, { maxBytes: 1200, maxFiles: 3 });
    for (let i = 0; i < 10; i++) w.write(record(i));
    w.close();
    const again = new AuditWriter(file, { maxBytes: 1200, maxFiles: 3 });
    for (let i = 10; i < 20; i++) again.write(record(i));
    again.close();
    const result = verifyAudit([`${file}.3`, `${file}.2`, `${file}.1`, file].filter((f) => existsSync(f)));
    assert.ok(result.ok, JSON.stringify(result));
  });
});

void describe("audit sink failures", () => {
  void it("a full disk: fail open keeps serving and reports the failure once; the record stays queued", () => {
    const failures: Error[] = [];
    const writer = new AuditWriter("file:/dev/full", { onFailure: (e) => failures.push(e) });
    const auditor = new Auditor(writer, actor);
    auditor.admit();
    auditor.record({ store: "s", provider: "fake", operation: "read", result: "success", seconds: 0 });
    auditor.record({ store: "s", provider: "fake", operation: "read", result: "success", seconds: 0 });
    assert.equal(failures.length, 1);
    assert.match(failures[0]?.message ?? "", /ENOSPC/);
    assert.match(auditor.failure?.message ?? "", /ENOSPC/);
    auditor.admit(); // fail open: calls go on
    writer.close();
  });

  void it("a full disk with --audit-required: backend calls are refused while the sink fails", () => {
    const auditor = new Auditor(new AuditWriter("file:/dev/full"), actor, { required: true });
    auditor.admit(); // /dev/full opens: nothing pending yet
    auditor.record({ store: "s", provider: "fake", operation: "read", result: "success", seconds: 0 });
    assert.throws(
      () => auditor.admit(),
      (e: unknown) =>
        e instanceof AuditSinkError && /ENOSPC/.test(e.message) && /--audit-required/.test(e.message),
    );
  });

  void it("an unwritable file: refused until it can be written, then the queued records land in order", () => {
    const dir = path.join(tmp(), "not-yet");
    const file = path.join(dir, "audit.jsonl");
    let recovered = 0;
    const writer = new AuditWriter(`file:${file}`, { onRecovered: () => recovered++ });
    const auditor = new Auditor(writer, actor, { required: true });
    assert.throws(
      () => auditor.admit(),
      AuditSinkError,
      "refused before any call when the file cannot be opened",
    );
    const open = new Auditor(new AuditWriter(`file:${file}`), actor);
    open.admit(); // the default fails open
    auditor.record({ store: "s", provider: "fake", operation: "login", result: "success", seconds: 0 });
    auditor.record({ store: "s", provider: "fake", operation: "read", result: "denied", seconds: 0 });
    assert.throws(() => auditor.admit(), AuditSinkError);
    mkdirSync(dir);
    auditor.admit();
    assert.equal(recovered, 1);
    const written = lines(file).map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(
      written.map((r) => r.operation),
      ["login", "read"],
    );
    assert.ok(verifyAudit([file]).ok);
  });

  void it("drops the oldest queued line past the bound, which the chain shows as removed", () => {
    const dir = path.join(tmp(), "later");
    const file = path.join(dir, "audit.jsonl");
    let dropped = 0;
    const writer = new AuditWriter(file, { maxQueued: 2, onDropped: () => dropped++ });
    for (let i = 0; i < 3; i++) writer.write(record(i));
    assert.equal(dropped, 1);
    mkdirSync(dir);
    assert.ok(writer.recover());
    writer.write(record(3));
    assert.equal(lines(file).length, 3);
    const result = verifyAudit([file]);
    // The first line's prev names the dropped record (taken as given); the rest chain.
    assert.ok(result.ok);
    assert.notEqual((JSON.parse(lines(file)[0] as string) as { prev: string }).prev, GENESIS);
  });
});
