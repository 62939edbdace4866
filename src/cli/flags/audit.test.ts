import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { AuditSinkError } from "../../errors.ts";
import { commandAuditor } from "./audit.ts";

const actor = { component: "plugin" as const, version: "t" };
const op = { store: "s", provider: "fake", operation: "read", result: "success" as const, seconds: 0 };

void test("the one-shot commands' audit flags: stderr or file:PATH, never stdout; the operator's defaults", () => {
  let err = "";
  const stderr = { write: (s: string) => (err += s) };
  assert.equal(commandAuditor({}, {}, stderr, actor), undefined, "off unless asked");
  assert.throws(
    () => commandAuditor({ "audit-log": "stdout" }, {}, stderr, actor),
    /stdout carries the command's output/,
  );
  assert.throws(
    () => commandAuditor({ "audit-log": "file:" }, {}, stderr, actor),
    /^Error: --audit-log: want/,
  );
  assert.throws(
    () => commandAuditor({ "audit-required": true }, {}, stderr, actor),
    /--audit-required: needs --audit-log/,
  );

  const file = path.join(mkdtempSync(path.join(tmpdir(), "refsync-cli-audit-")), "a.jsonl");
  const fromEnv = commandAuditor({}, { REFSYNC_AUDIT_LOG: `file:${file}` }, stderr, actor);
  fromEnv?.record(op);
  fromEnv?.close();
  assert.match(readFileSync(file, "utf8"), /"component":"plugin"/);

  // A file that cannot be written: a warning and on (default), or a refusal (REFSYNC_AUDIT_REQUIRED=true).
  const missing = path.join(tmpdir(), "refsync-no-such-dir-51ab", "a.jsonl");
  const open = commandAuditor({ "audit-log": missing }, {}, stderr, actor);
  open?.record(op);
  open?.admit();
  assert.match(err, /^refsync: audit record not written \(ENOENT.*\); going on\n$/);
  const closed = commandAuditor(
    {},
    { REFSYNC_AUDIT_LOG: missing, REFSYNC_AUDIT_REQUIRED: "true" },
    stderr,
    actor,
  );
  assert.throws(() => closed?.admit(), AuditSinkError);
});
