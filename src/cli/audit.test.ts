import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { AuditWriter } from "../store/audit.ts";
import { auditCommand } from "./audit.ts";

function run(argv: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = auditCommand(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

function auditFile(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "refsync-audit-cli-")), "audit.jsonl");
  const w = new AuditWriter(file);
  for (const key of ["a", "b", "c"]) {
    w.write({
      time: "2026-01-01T00:00:00.000Z",
      actor: { component: "controller", version: "t" },
      subjects: [],
      store: "SecretStore/ns/s",
      provider: "fake",
      operation: "read",
      keys: [{ key }],
      outcome: "ok",
      durationMs: 1,
    });
  }
  w.close();
  return file;
}

void test("refsync audit verify: exit 0 and one line when the chain holds", () => {
  const r = run(["verify", auditFile()]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^ok: 3 records, chain intact \(last hash [0-9a-f]{64}\)\n$/);
});

void test("refsync audit verify: exit 1 naming the first broken line in one line", () => {
  const file = auditFile();
  const lines = readFileSync(file, "utf8").split("\n");
  writeFileSync(file, [lines[0], lines[2], ""].join("\n"));
  const r = run(["verify", file]);
  assert.equal(r.code, 1);
  assert.equal(r.out.split("\n").length, 2);
  assert.match(r.out, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: the chain is broken`));
});

void test("refsync audit: usage errors exit 2", () => {
  assert.equal(run([]).code, 2);
  assert.equal(run(["verify"]).code, 2);
  assert.equal(run(["--help"]).code, 0);
});
