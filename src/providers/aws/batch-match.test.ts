import assert from "node:assert/strict";
import { test } from "node:test";
import { attribute, isPartialArn } from "./batch-match.ts";

const PREFIX = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";
const OTHER = "arn:aws:secretsmanager:us-east-1:210987654321:secret:";
const entry = (name: string, suffix = "Ab12Cd") => ({ Name: name, ARN: `${PREFIX}${name}-${suffix}` });

const summary = (
  ids: string[],
  values: { Name?: string; ARN?: string }[],
  errors: { SecretId?: string }[],
) => {
  const answers = attribute(ids, values, errors);
  return ids.map((id) => {
    const answer = answers.get(id);
    if (!answer) return "unanswered";
    return "value" in answer ? `value ${answer.value.Name}` : `error ${answer.error.SecretId}`;
  });
};

void test("isPartialArn: an ARN whose name part ends in -XXXXXX counts as complete", () => {
  assert.equal(isPartialArn(`${PREFIX}team/db`), true);
  assert.equal(isPartialArn(`${PREFIX}team/db-Ab12Cd`), false);
  assert.equal(isPartialArn(`${PREFIX}team/key-abcdef`), false);
  assert.equal(isPartialArn("team/db"), false);
});

void test("values match by name, complete ARN and partial ARN; one entry serves every form", () => {
  const db = entry("team/db");
  assert.deepEqual(summary(["team/db", db.ARN, `${PREFIX}team/db`], [db], []), [
    "value team/db",
    "value team/db",
    "value team/db",
  ]);
});

void test("errors match by SecretId as sent, or by the complete ARN AWS may report instead", () => {
  const db = entry("team/db");
  assert.deepEqual(
    summary(
      ["team/db", `${PREFIX}team/cache`],
      [],
      [{ SecretId: db.ARN }, { SecretId: `${PREFIX}team/cache` }],
    ),
    [`error ${db.ARN}`, `error ${PREFIX}team/cache`],
  );
  assert.deepEqual(summary([`${PREFIX}team/db`], [], [{ SecretId: db.ARN }]), [`error ${db.ARN}`]);
});

void test("an exact error beats a value of a look-alike secret; an ambiguous id is never guessed", () => {
  const key = entry("team/key-abcdef");
  const ambiguous = `${PREFIX}team/key-abcdef`;
  assert.deepEqual(summary(["team/key-abcdef", ambiguous], [key], [{ SecretId: ambiguous }]), [
    "value team/key-abcdef",
    `error ${ambiguous}`,
  ]);
  // Without an exact answer it is left for a GetSecretValue of its own.
  assert.deepEqual(summary(["team/key-abcdef", ambiguous], [key], []), [
    "value team/key-abcdef",
    "unanswered",
  ]);
});

void test("nothing crosses accounts, and an error reported under another requested id stays with it", () => {
  const mine = entry("db");
  assert.deepEqual(summary([`${OTHER}db`], [mine], []), ["unanswered"]);
  assert.deepEqual(summary(["db", `${OTHER}db`], [], [{ SecretId: `${OTHER}db` }]), [
    "unanswered",
    `error ${OTHER}db`,
  ]);
  assert.deepEqual(summary(["db"], [], [{ SecretId: "other" }]), ["unanswered"]);
});
