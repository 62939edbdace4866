import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { parseGcpsmSpec } from "./spec.ts";

void test("spec: projectNumber is optional and a project number", () => {
  assert.equal(parseGcpsmSpec({ projectID: "my-project-123" }).projectNumber, undefined);
  assert.equal(
    parseGcpsmSpec({ projectID: "my-project-123", projectNumber: "123456789012" }).projectNumber,
    "123456789012",
  );
  for (const projectNumber of ["my-project-123", "0123", "12a", "", 123456789012]) {
    assert.throws(
      () => parseGcpsmSpec({ projectID: "my-project-123", projectNumber }),
      (e: unknown) => e instanceof InvalidSpecError && /projectNumber/.test(e.message),
      String(projectNumber),
    );
  }
});

void test("spec: secretVersionSelectionPolicy is ESO's LatestOrFail or LatestOrFetch", () => {
  for (const policy of ["LatestOrFail", "LatestOrFetch"] as const) {
    assert.equal(
      parseGcpsmSpec({ projectID: "my-project-123", secretVersionSelectionPolicy: policy })
        .secretVersionSelectionPolicy,
      policy,
    );
  }
  assert.throws(
    () => parseGcpsmSpec({ projectID: "my-project-123", secretVersionSelectionPolicy: "Oldest" }),
    (e: unknown) => e instanceof InvalidSpecError && /secretVersionSelectionPolicy/.test(e.message),
  );
});
