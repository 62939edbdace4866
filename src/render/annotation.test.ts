import assert from "node:assert/strict";
import { test } from "node:test";
import { formatRefsAnnotation, parseRefsAnnotation, versionsDigest } from "./annotation.ts";

void test("the digest depends on the versions read, not on order or repetition", () => {
  const a = { store: "s", key: "k", read: "1" };
  const b = { store: "s", key: "j", pinned: "2", read: "2" };
  assert.equal(versionsDigest([a, b]), versionsDigest([b, a, a]));
  assert.notEqual(versionsDigest([a]), versionsDigest([{ ...a, read: "2" }]));
  assert.match(versionsDigest([]), /^sha256:[0-9a-f]{64}$/);
});

void test("the annotation lists references with their store, sorted and distinct, and parses back", () => {
  const ref = { provider: "fake" as const, path: "a", fragment: "p", store: "demo" };
  const text = formatRefsAnnotation([ref, ref, { ...ref, fragment: "o" }], "sha256:00");
  assert.equal(
    text,
    '{"refs":["ref+fake://a?store=demo#o","ref+fake://a?store=demo#p"],"digest":"sha256:00"}',
  );
  assert.deepEqual(parseRefsAnnotation(text), {
    refs: [{ ...ref, fragment: "o" }, ref],
    digest: "sha256:00",
  });
  assert.throws(() => parseRefsAnnotation('{"refs":1}'), /expected/);
});
