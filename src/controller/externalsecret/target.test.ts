/**
 * The target Secret as ESO's target fields shape it: finalizers (never added
 * to a Secret being deleted, never dropped from one), immutable (the data
 * kept once it exists), CreateOrMerge's type and keys, and the one line that
 * names a controlling owner refsync will not take over from.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExternalSecret, ExternalSecretSpec } from "../../api/v1alpha1.ts";
import { TargetConflictError } from "../../errors.ts";
import {
  checkTakeover,
  desiredSecret,
  isUpToDate,
  keptData,
  ownsAllKeys,
  type SecretObject,
} from "./target.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const b64 = (s: string) => Buffer.from(s).toString("base64");

function es(target: ExternalSecretSpec["target"]): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name: "db", namespace: "shop", uid: "es-uid" },
    spec: { secretStoreRef: { name: "s" }, data: [{ secretKey: "k", remoteRef: { key: "k" } }], target },
  };
}
const content = (data: Record<string, string>) => ({
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, enc(v)])),
  labels: {},
  annotations: {},
});
function existing(
  over: Partial<SecretObject["metadata"]> = {},
  rest: Partial<SecretObject> = {},
): SecretObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "shop", ...over }, ...rest };
}

void describe("target Secret", () => {
  void test("template finalizers: added; a Secret being deleted takes no new one and keeps those it has", () => {
    const spec = es({ template: { metadata: { finalizers: ["a.example/keep", "b.example/keep"] } } });
    assert.deepEqual(desiredSecret(spec, content({}), "h", undefined).metadata.finalizers, [
      "a.example/keep",
      "b.example/keep",
    ]);
    const deleting = existing({ deletionTimestamp: "2026-12-02T00:00:00Z", finalizers: ["b.example/keep"] });
    assert.deepEqual(desiredSecret(spec, content({}), "h", deleting).metadata.finalizers, ["b.example/keep"]);
    const gone = existing({ deletionTimestamp: "2026-12-02T00:00:00Z" });
    assert.equal(desiredSecret(spec, content({}), "h", gone).metadata.finalizers, undefined);
    const desired = desiredSecret(spec, content({}), "h", undefined);
    assert.equal(isUpToDate(existing({ finalizers: ["a.example/keep"] }), desired), false);
  });

  void test("immutable: created immutable; an existing Secret keeps its bytes (merging: of the keys written)", () => {
    const owner = es({ immutable: true });
    assert.equal(desiredSecret(owner, content({ k: "v" }), "h", undefined).immutable, true);
    const old = existing({}, { immutable: true, data: { k: b64("old"), other: b64("theirs") } });
    const kept = (e: ExternalSecret) =>
      Object.fromEntries(
        Object.entries(keptData(e, old, content({ k: "new" }).data)).map(([k, v]) => [
          k,
          Buffer.from(v).toString(),
        ]),
      );
    assert.deepEqual(kept(owner), { k: "old", other: "theirs" });
    assert.deepEqual(kept(es({ immutable: true, creationPolicy: "CreateOrMerge" })), { k: "old" });
    assert.deepEqual(kept(es({})), { k: "new" }, "not immutable: the new bytes");
    assert.equal(
      isUpToDate(
        existing({}, { data: { k: b64("v") } }),
        desiredSecret(owner, content({ k: "v" }), "h", undefined),
      ),
      false,
    );
  });

  void test("CreateOrMerge: no owner, the existing type kept, keys shared like Merge", () => {
    const com = es({ creationPolicy: "CreateOrMerge" });
    const created = desiredSecret(com, content({ k: "v" }), "h", undefined);
    assert.equal(created.metadata.ownerReferences, undefined);
    assert.equal(created.type, "Opaque");
    assert.equal(
      desiredSecret(com, content({}), "h", existing({}, { type: "example.com/x" })).type,
      "example.com/x",
    );
    assert.equal(ownsAllKeys(com), false);
    assert.equal(ownsAllKeys(es({ creationPolicy: "Orphan" })), true);
    assert.doesNotThrow(() => checkTakeover(com, undefined), "CreateOrMerge creates a missing Secret");
    assert.throws(() => checkTakeover(es({ creationPolicy: "Merge" }), undefined), TargetConflictError);
  });

  void test("a controlling owner is named in one line; ESO's with the command that hands the Secret over", () => {
    const owned = (apiVersion: string, kind: string) =>
      existing({ ownerReferences: [{ apiVersion, kind, name: "db", uid: "other", controller: true }] });
    assert.throws(
      () => checkTakeover(es({}), owned("external-secrets.io/v1", "ExternalSecret")),
      new TargetConflictError(
        `target Secret "db" is still owned by ESO's ExternalSecret "db": orphan-delete it to hand the Secret over (kubectl delete externalsecrets.external-secrets.io db -n shop --cascade=orphan)`,
      ),
    );
    assert.throws(
      () => checkTakeover(es({}), owned("example.com/v1", "Thing")),
      new TargetConflictError(
        `target Secret "db" is already owned by Thing "db" (example.com/v1); refsync takes over only a Secret without a controlling owner`,
      ),
    );
    assert.doesNotThrow(() =>
      checkTakeover(
        es({ creationPolicy: "CreateOrMerge" }),
        owned("external-secrets.io/v1", "ExternalSecret"),
      ),
    );
  });
});
