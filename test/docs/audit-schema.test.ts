// docs/audit.md shows the JSON Schema of an audit record: it is the one refsync
// audit verify checks every line against (src/store/audit-schema.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { auditRecordJsonSchema } from "../../src/store/audit-schema.ts";
import { docBlock } from "./markdown.ts";

void test("the JSON Schema in docs/audit.md is the schema records are checked against", () => {
  assert.deepEqual(
    JSON.parse(docBlock("test/docs/audit-schema.test.ts", "record-schema")),
    auditRecordJsonSchema(),
  );
});
