import assert from "node:assert/strict";
import { test } from "node:test";
import { avpToReference, findAvpPlaceholders } from "./avp.ts";
import { InvalidReferenceError } from "./errors.ts";
import { applyModifiers, jsonPath } from "./modifiers.ts";

void test("inline placeholders with key, version and modifiers", () => {
  const [p] = findAvpPlaceholders("x <path:secret/data/team-a/db#password#3 | base64encode | indent 2> y");
  assert.deepEqual(p, {
    path: "secret/data/team-a/db",
    key: "password",
    version: "3",
    modifiers: [{ name: "base64encode" }, { name: "indent", width: 2 }],
    generic: false,
    start: 2,
    end: 67,
  });
  assert.deepEqual(avpToReference(p!, "vault"), {
    provider: "vault",
    path: "team-a/db",
    fragment: "password",
    version: "3",
  });
  assert.deepEqual(avpToReference({ ...p!, path: "kv1/team-a/db" }, "vault", "v").path, "team-a/db");
  assert.deepEqual(avpToReference(p!, "awssecrets").path, "secret/data/team-a/db");
});

void test("generic placeholders need the path annotation; ignore turns everything off", () => {
  assert.deepEqual(findAvpPlaceholders("<password>"), []);
  const annotations = {
    "avp.kubernetes.io/path": "secret/data/app",
    "avp.kubernetes.io/secret-version": "2",
  };
  const found = findAvpPlaceholders("<user>:<password | jsonPath {.a}>", { annotations });
  assert.deepEqual(
    found.map((p) => [p.key, p.path, p.version, p.generic, p.modifiers]),
    [
      ["user", "secret/data/app", "2", true, []],
      ["password", "secret/data/app", "2", true, [{ name: "jsonPath", expression: "{.a}" }]],
    ],
  );
  assert.deepEqual(
    findAvpPlaceholders("<path:a#b>", { annotations: { "avp.kubernetes.io/ignore": "true" } }),
    [],
  );
});

void test("malformed placeholders and unknown modifiers are InvalidReferenceError with an offset", () => {
  assert.throws(
    () => findAvpPlaceholders("ab <path:secret/data/x>"),
    (e: Error) =>
      e instanceof InvalidReferenceError &&
      e.message === "offset 3: malformed AVP placeholder (expected <path:PATH#KEY[#VERSION]>)",
  );
  assert.throws(
    () => findAvpPlaceholders("<path:a#b | rot13>"),
    /offset 0: unknown or malformed AVP modifier "rot13"/,
  );
  assert.throws(() => findAvpPlaceholders("<path:a#b | indent x>"), /malformed AVP modifier "indent x"/);
});

void test("modifiers", () => {
  assert.equal(applyModifiers("hi", [{ name: "base64encode" }]), "aGk=");
  assert.equal(applyModifiers("aGk=", [{ name: "base64decode" }]), "hi");
  assert.equal(
    applyModifiers("hi", [{ name: "sha256sum" }]),
    "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
  );
  assert.deepEqual(applyModifiers('{"a":{"b":[1,2]}}', [{ name: "jsonParse" }]), { a: { b: [1, 2] } });
  assert.deepEqual(applyModifiers("a: 1\n", [{ name: "yamlParse" }]), { a: 1 });
  assert.equal(applyModifiers('{"a":{"b":[1,2]}}', [{ name: "jsonPath", expression: "{.a.b[1]}" }]), 2);
  assert.equal(applyModifiers("l1\nl2", [{ name: "indent", width: 2 }]), "l1\n  l2");
  assert.equal(jsonPath("{['x.y']}", { "x.y": "z" }), "z");
  assert.throws(
    () => applyModifiers("not json", [{ name: "jsonParse" }]),
    /^ModifierError: jsonParse: the value is not JSON$/,
  );
  assert.throws(
    () => applyModifiers("{}", [{ name: "jsonPath", expression: "{.a}" }]),
    /jsonPath \{\.a\}: no match/,
  );
});
