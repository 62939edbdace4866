/**
 * dataFrom key handling as ESO's runtime/esutils does it: rewrite merge and
 * transform, conversionStrategy, and nullBytePolicy. Expected bytes are what
 * ESO's Go code produces for the same input (encoding/json, strconv).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { checkNullBytes, convertKeys, finishKeys } from "./rewrite.ts";

const bytes = (m: Record<string, string>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, new TextEncoder().encode(v)]));
const text = (m: Record<string, Uint8Array>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Buffer.from(v).toString("utf8")]));
const FIELD = "spec.dataFrom[0]";

type Entry = Parameters<typeof finishKeys>[1];
const find: Entry = { find: { name: { regexp: ".*" } } };
const withRewrite = (rewrite: NonNullable<Entry["rewrite"]>): Entry => ({ ...find, rewrite });

void describe("rewrite.merge", () => {
  const creds = bytes({
    "path/to/secrets/object-storage-credentials": '{"ACCESS_KEY":"XXXX","SECRET_KEY":"YYYY"}',
    "path/to/secrets/mongo-credentials": '{"USERNAME":"XXXX","PASSWORD":"YYYY"}',
  });

  void test("Extract (the default) hoists every entry of every value to the top level", () => {
    const out = finishKeys(creds, withRewrite([{ merge: {} }]), undefined, FIELD);
    assert.deepEqual(text(out), {
      ACCESS_KEY: "XXXX",
      SECRET_KEY: "YYYY",
      USERNAME: "XXXX",
      PASSWORD: "YYYY",
    });
  });

  void test("values that are not strings come out as Go writes them", () => {
    const out = finishKeys(
      bytes({ a: '{"n":1e21,"f":0.000001,"i":42,"b":true,"z":null,"o":{"y":"<&>","x":1},"l":[1,"a"]}' }),
      withRewrite([{ merge: {} }]),
      undefined,
      FIELD,
    );
    assert.deepEqual(text(out), {
      n: "1000000000000000000000",
      f: "0.000001",
      i: "42",
      b: "true",
      z: "",
      o: '{"x":1,"y":"\\u003c\\u0026\\u003e"}',
      l: '[1,"a"]',
    });
  });

  void test("a key two values hold is an error naming it, unless conflictPolicy is Ignore", () => {
    const both = bytes({ dev: '{"password":"bar"}', prod: '{"password":"safebar"}' });
    assert.throws(
      () => finishKeys(both, withRewrite([{ merge: {} }]), undefined, FIELD),
      (e: Error) => e instanceof InvalidSpecError && /rewrite\[0\]\.merge: .*password/.test(e.message),
    );
    // Keys in byte order: prod is merged last and wins.
    const out = finishKeys(both, withRewrite([{ merge: { conflictPolicy: "Ignore" } }]), undefined, FIELD);
    assert.deepEqual(text(out), { password: "safebar" });
  });

  void test("priority keys go last, in their order; a missing one is an error unless IgnoreNotFound", () => {
    const both = bytes({ a: '{"k":"from-a"}', b: '{"k":"from-b"}', c: '{"k":"from-c"}' });
    const merge = { conflictPolicy: "Ignore" as const, priority: ["c", "a"] };
    assert.deepEqual(text(finishKeys(both, withRewrite([{ merge }]), undefined, FIELD)), { k: "from-a" });
    const missing = { ...merge, priority: ["gone", "b"] };
    assert.throws(() => finishKeys(both, withRewrite([{ merge: missing }]), undefined, FIELD), /"gone"/);
    const ignored = { ...missing, priorityPolicy: "IgnoreNotFound" as const };
    assert.deepEqual(text(finishKeys(both, withRewrite([{ merge: ignored }]), undefined, FIELD)), {
      k: "from-b",
    });
  });

  void test("JSON writes the merged object into `into` and keeps the other keys", () => {
    const out = finishKeys(
      bytes({ one: '{"b":"2","a":"1"}', two: '{"c":"3"}' }),
      withRewrite([{ merge: { strategy: "JSON", into: "all" } }]),
      undefined,
      FIELD,
    );
    assert.deepEqual(text(out), {
      one: '{"b":"2","a":"1"}',
      two: '{"c":"3"}',
      all: '{"a":"1","b":"2","c":"3"}',
    });
    assert.throws(
      () =>
        finishKeys(bytes({ one: "{}" }), withRewrite([{ merge: { strategy: "JSON" } }]), undefined, FIELD),
      /merge\.into/,
    );
  });

  void test("a value that is not a JSON object is an error naming its key; null merges nothing", () => {
    assert.throws(
      () => finishKeys(bytes({ plain: "hunter2" }), withRewrite([{ merge: {} }]), undefined, FIELD),
      (e: Error) => /"plain" is not a JSON object/.test(e.message) && !e.message.includes("hunter2"),
    );
    assert.throws(() => finishKeys(bytes({ list: "[1]" }), withRewrite([{ merge: {} }]), undefined, FIELD));
    assert.deepEqual(
      text(finishKeys(bytes({ n: "null" }), withRewrite([{ merge: {} }]), undefined, FIELD)),
      {},
    );
  });
});

void describe("rewrite.transform", () => {
  void test("renames each key with a Go template whose .value is the key (ESO's guide)", () => {
    const out = finishKeys(
      bytes({ "foo-nut-bar": "HELLO1", "foo-bar-baz": '{"john": "doe"}' }),
      withRewrite([{ transform: { template: 'ENV_{{ .value | upper | replace "-" "_" }}' } }]),
      undefined,
      FIELD,
    );
    assert.deepEqual(text(out), { ENV_FOO_NUT_BAR: "HELLO1", ENV_FOO_BAR_BAZ: '{"john": "doe"}' });
  });

  void test("rewrites chain: regexp, then transform", () => {
    const out = finishKeys(
      bytes({ "path/to/db": "x" }),
      withRewrite([
        { regexp: { source: "^path/to/", target: "" } },
        { transform: { template: "{{ .value }}-key" } },
      ]),
      undefined,
      FIELD,
    );
    assert.deepEqual(Object.keys(out), ["db-key"]);
  });

  void test("a template error names the rewrite and its place", () => {
    assert.throws(
      () =>
        finishKeys(
          bytes({ a: "x" }),
          withRewrite([{ transform: { template: "{{ .value | nope }}" } }]),
          undefined,
          FIELD,
        ),
      (e: Error) =>
        e instanceof InvalidSpecError && e.message.startsWith(`${FIELD}.rewrite[0].transform.template: `),
    );
  });
});

void describe("conversionStrategy", () => {
  void test("Default turns each character a Secret key cannot hold into _", () => {
    assert.deepEqual(
      Object.keys(convertKeys(bytes({ "foo/bar": "1", foo$baz: "2", "ok-é.1": "3" }), "Default", FIELD)),
      ["foo_bar", "foo_baz", "ok-é.1"],
    );
  });

  void test("Unicode writes the code point as _UXXXX_ (five digits above U+FFFF)", () => {
    assert.deepEqual(Object.keys(convertKeys(bytes({ "a/b c": "1", "x😀": "2" }), "Unicode", FIELD)), [
      "a_U002f_b_U0020_c",
      "x_U1f600_",
    ]);
  });

  void test("two keys converting to one is an error; a rewrite turns conversion off", () => {
    assert.throws(() => convertKeys(bytes({ "a/b": "1", a$b: "2" }), "Default", FIELD), /both become "a_b"/);
    const entry: Entry = {
      find: { conversionStrategy: "Default" },
      rewrite: [{ regexp: { source: "x", target: "y" } }],
    };
    assert.throws(
      () => finishKeys(bytes({ "a/b": "1" }), entry, "Default", FIELD),
      /"a\/b" is not a valid Secret key/,
    );
  });

  void test("unset: a key a Secret cannot hold is an error; an empty key is dropped", () => {
    assert.throws(() => finishKeys(bytes({ "a/b": "1" }), find, undefined, FIELD), /conversionStrategy/);
    const out = finishKeys(
      bytes({ x: "1" }),
      withRewrite([{ regexp: { source: "^x$", target: "" } }]),
      undefined,
      FIELD,
    );
    assert.deepEqual(out, {});
  });
});

void describe("nullBytePolicy", () => {
  const map = { good: new Uint8Array([65]), bad: new Uint8Array([65, 0, 66]) };
  void test("Fail refuses a value holding a NUL byte, naming its key and not the value", () => {
    assert.throws(
      () => checkNullBytes(map, "Fail", "spec.data[0].remoteRef"),
      (e: Error) => e instanceof InvalidSpecError && /remoteRef\.nullBytePolicy: .*"bad"/.test(e.message),
    );
  });
  void test("Ignore and unset let it through", () => {
    checkNullBytes(map, "Ignore", FIELD);
    checkNullBytes(map, undefined, FIELD);
  });
});
