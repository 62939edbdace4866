import assert from "node:assert/strict";
import test from "node:test";
import {
  ANNOTATION_CHANGED_AT,
  ANNOTATION_CHANGED_KEYS,
  ANNOTATION_DATA_HASH,
  ANNOTATION_KEY_HASHES,
} from "../../api/v1alpha1.ts";
import { dataHash } from "../hash.ts";
import { annotateKeyHashes, changedKeys, keyHashes } from "./key-hashes.ts";

const key = new Uint8Array(32).fill(7);
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const secret = (
  data: Record<string, string>,
  prev?: { metadata: { annotations?: Record<string, string> } },
  at = new Date("2026-01-01T00:00:00Z"),
) => {
  const d = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, bytes(v)]));
  const s = {
    metadata: {
      annotations: { [ANNOTATION_DATA_HASH]: dataHash(key, "Opaque", d) } as Record<string, string>,
    },
  };
  annotateKeyHashes(s, prev, key, d, at);
  return s;
};

void test("key hashes are keyed HMACs per key, never the value, and stable", () => {
  const h = keyHashes(key, { b: bytes("secret-value"), a: bytes("x") });
  assert.deepEqual(Object.keys(h), ["a", "b"]);
  assert.match(h.b!, /^[0-9a-f]{16}$/);
  assert.equal(JSON.stringify(h).includes("secret-value"), false);
  assert.deepEqual(keyHashes(key, { a: bytes("x"), b: bytes("secret-value") }), h);
  assert.notEqual(keyHashes(new Uint8Array(32), { a: bytes("x") }).a, h.a, "another HMAC key, another hash");
});

void test("changedKeys names added, removed and changed keys; unknown history means all", () => {
  const v1 = secret({ user: "u", password: "p1", old: "o" });
  const v2 = secret({ user: "u", password: "p2", added: "n" }, v1);
  assert.deepEqual(changedKeys(v1, v2), ["added", "old", "password"]);
  assert.deepEqual(changedKeys(v2, v2), []);
  assert.equal(changedKeys(undefined, v2), undefined);
  assert.equal(
    changedKeys({ metadata: { annotations: { [ANNOTATION_KEY_HASHES]: "{bad" } } }, v2),
    undefined,
  );
});

void test("changed-at and changed-keys move only when the data hash does", () => {
  const created = secret({ a: "1" });
  assert.equal(
    created.metadata.annotations[ANNOTATION_CHANGED_AT],
    undefined,
    "a new Secret has no older data",
  );
  const changed = secret({ a: "2" }, created, new Date("2026-01-02T00:00:00Z"));
  assert.equal(changed.metadata.annotations[ANNOTATION_CHANGED_AT], "2026-01-02T00:00:00.000Z");
  assert.equal(changed.metadata.annotations[ANNOTATION_CHANGED_KEYS], "a");
  const same = secret({ a: "2" }, changed, new Date("2026-01-03T00:00:00Z"));
  assert.equal(same.metadata.annotations[ANNOTATION_CHANGED_AT], "2026-01-02T00:00:00.000Z");
  assert.equal(same.metadata.annotations[ANNOTATION_CHANGED_KEYS], "a");
  const upgraded = secret({ a: "3" }, { metadata: { annotations: { [ANNOTATION_DATA_HASH]: "old" } } });
  assert.equal(
    upgraded.metadata.annotations[ANNOTATION_CHANGED_KEYS],
    undefined,
    "unknown without older key hashes",
  );
});
