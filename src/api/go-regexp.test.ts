import assert from "node:assert/strict";
import test from "node:test";
import { goRegexpMatches } from "./go-regexp.ts";
import { validateStoreSpec } from "./validate.ts";

void test("namespaceRegexes: Go's regexp.MatchString, a match anywhere", () => {
  assert.equal(goRegexpMatches("team", "my-team-a"), true);
  assert.equal(goRegexpMatches("^team$", "my-team"), false);
  assert.equal(goRegexpMatches(`^(dev|stage)-\\d+$`, "stage-12"), true);
  assert.equal(goRegexpMatches("(?=a)", "a"), false);
});

void test("a pattern Go rejects makes the store spec invalid, naming the field and Go's reason", () => {
  const spec = (namespaceRegexes: string[]) => ({
    provider: { fake: { data: [] } },
    conditions: [{ namespaceRegexes }],
  });
  assert.deepEqual(validateStoreSpec(spec(["^team-"])).conditions?.[0]?.namespaceRegexes, ["^team-"]);
  assert.throws(
    () => validateStoreSpec(spec(["ok", "(?=x)"])),
    (err: Error) =>
      err.message.includes("conditions[0].namespaceRegexes[1]") &&
      err.message.includes(
        "not a Go regular expression: error parsing regexp: invalid or unsupported Perl syntax",
      ),
  );
  assert.throws(() => validateStoreSpec(spec(["a("])), /missing closing \)/);
});
