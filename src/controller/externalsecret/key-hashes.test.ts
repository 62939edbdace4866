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
const otherKey = new Uint8Array(32).fill(9);
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

interface Written {
  metadata: { annotations: Record<string, string> };
  data: Record<string, string>;
}

/** The Secret a write of `data` produces on top of `prev`, with `hashKey`. */
const secret = (
  data: Record<string, string>,
  prev?: Written,
  at = new Date("2026-01-01T00:00:00Z"),
  hashKey = key,
  ownsAll = true,
): Written & { changed: string[] | undefined } => {
  const d = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, bytes(v)]));
  const s: Written = {
    metadata: { annotations: { [ANNOTATION_DATA_HASH]: dataHash(hashKey, "Opaque", d) } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
  const changed = annotateKeyHashes(s, prev, hashKey, d, at, ownsAll);
  return { ...s, changed };
};

void test("key hashes are keyed HMACs per key, never the value, and stable", () => {
  const h = keyHashes(key, { b: bytes("secret-value"), a: bytes("x") });
  assert.deepEqual(Object.keys(h), ["a", "b"]);
  assert.match(h.b!, /^[0-9a-f]{16}$/);
  assert.equal(JSON.stringify(h).includes("secret-value"), false);
  assert.deepEqual(keyHashes(key, { a: bytes("x"), b: bytes("secret-value") }), h);
  assert.notEqual(keyHashes(new Uint8Array(32), { a: bytes("x") }).a, h.a, "another HMAC key, another hash");
});

void test("changedKeys names added, removed and changed keys, from the bytes", () => {
  const v1 = secret({ user: "u", password: "p1", old: "o" });
  const v2 = secret({ user: "u", password: "p2", added: "n" }, v1);
  assert.deepEqual(changedKeys(v1, v2), ["added", "old", "password"]);
  assert.deepEqual(v2.changed, ["added", "old", "password"]);
  assert.deepEqual(changedKeys(v2, v2), []);
  assert.equal(secret({ a: "1" }).changed, undefined, "created: no older data");
  // A Secret written before per-key hashes existed: its bytes still tell.
  const legacy = { metadata: { annotations: { [ANNOTATION_DATA_HASH]: "old" } }, data: v1.data };
  assert.deepEqual(changedKeys(legacy, v2), ["added", "old", "password"]);
  assert.deepEqual(
    changedKeys({ ...legacy, metadata: { annotations: { [ANNOTATION_KEY_HASHES]: "{bad" } } }, v2),
    ["added", "old", "password"],
  );
});

void test("a new HMAC key changes no key: hashes recomputed, no change recorded, restart marks not resumed", () => {
  const created = secret({ user: "u", password: "p1" });
  const rotated = secret({ user: "u", password: "p2" }, created, new Date("2026-01-02T00:00:00Z"));
  assert.equal(rotated.metadata.annotations[ANNOTATION_CHANGED_KEYS], "password");
  const rehashed = secret({ user: "u", password: "p2" }, rotated, new Date("2026-01-03T00:00:00Z"), otherKey);
  assert.deepEqual(rehashed.changed, [], "no key changed");
  assert.notEqual(
    rehashed.metadata.annotations[ANNOTATION_DATA_HASH],
    rotated.metadata.annotations[ANNOTATION_DATA_HASH],
  );
  assert.notEqual(
    rehashed.metadata.annotations[ANNOTATION_KEY_HASHES],
    rotated.metadata.annotations[ANNOTATION_KEY_HASHES],
    "per-key hashes recomputed with the new key",
  );
  assert.equal(
    rehashed.metadata.annotations[ANNOTATION_CHANGED_AT],
    "2026-01-02T00:00:00.000Z",
    "still the last real change",
  );
  assert.equal(
    rehashed.metadata.annotations[ANNOTATION_CHANGED_KEYS],
    undefined,
    "consumers' restart marks name the old hash: nothing for a new leader to resume",
  );
  // The next real change is found by its bytes, with the new key's hashes to compare later.
  const next = secret({ user: "u2", password: "p2" }, rehashed, new Date("2026-01-04T00:00:00Z"), otherKey);
  assert.deepEqual(next.changed, ["user"]);
});

void test("changed-at and changed-keys move only when the data does", () => {
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
  assert.deepEqual(same.changed, []);
  assert.equal(same.metadata.annotations[ANNOTATION_CHANGED_AT], "2026-01-02T00:00:00.000Z");
  assert.equal(same.metadata.annotations[ANNOTATION_CHANGED_KEYS], "a");
});

void test("creationPolicy Merge: keys of the Secret that are not ours are never changes", () => {
  const foreign: Written = {
    metadata: { annotations: {} },
    data: { theirs: Buffer.from("t").toString("base64") },
  };
  const first = secret({ ours: "1" }, foreign, undefined, key, false);
  assert.deepEqual(first.changed, ["ours"]);
  const merged = { ...first, data: { ...foreign.data, ...first.data } };
  assert.deepEqual(secret({ ours: "1" }, merged, undefined, key, false).changed, []);
  assert.deepEqual(secret({ ours: "2" }, merged, undefined, key, false).changed, ["ours"]);
});
