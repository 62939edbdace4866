import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSpecError, SecretNotFoundError } from "../errors.ts";
import { extractMap, extractValue, goMetadataJson, selectProperty } from "./extract.ts";

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const req = { store: "SecretStore/ns/s", key: "team-a/db" };

void test("selects a top-level key of a structured secret", () => {
  assert.equal(
    text(extractValue({ data: { password: "pw", port: 5432 } }, { ...req, property: "password" })),
    "pw",
  );
  assert.equal(
    text(extractValue({ data: { password: "pw", port: 5432 } }, { ...req, property: "port" })),
    "5432",
  );
});

void test("a top-level key may contain a dot or slash-free path text", () => {
  assert.equal(text(extractValue({ data: { "tls.crt": "CRT" } }, { ...req, property: "tls.crt" })), "CRT");
});

void test("a pointer walks objects, arrays and JSON held in strings", () => {
  const data = { config: '{"db":{"hosts":["a","b"]}}', "a/b": { "c~d": 1 } };
  assert.equal(text(extractValue({ data }, { ...req, property: "/config/db/hosts/1" })), "b");
  assert.equal(text(extractValue({ data }, { ...req, property: "/a~1b/c~0d" })), "1");
});

void test("a JSON blob (AWS SecretString) is parsed for a property; without one it is returned whole", () => {
  const blob = { data: '{"user":"app","pw":"x"}' };
  assert.equal(text(extractValue(blob, { ...req, property: "user" })), "app");
  assert.equal(text(extractValue(blob, req)), '{"user":"app","pw":"x"}');
  assert.deepEqual(selectProperty(blob, { ...req, property: "pw" }), "x");
});

void test("a structured secret without a property is its JSON", () => {
  assert.equal(
    text(extractValue({ data: { a: "1", b: new TextEncoder().encode("2") } }, req)),
    '{"a":"1","b":"2"}',
  );
});

void test("selectProperty keeps the backend's type", () => {
  assert.equal(selectProperty({ data: { n: 3, t: true } }, { ...req, property: "n" }), 3);
  assert.deepEqual(selectProperty({ data: '{"o":{"x":1}}' }, { ...req, property: "o" }), { x: 1 });
});

void test("decoding strategies", () => {
  const data = { b64: Buffer.from([0xff, 0x00, 0xfe]).toString("base64"), url: "_-8", plain: "not base64!" };
  assert.deepEqual(
    [...extractValue({ data }, { ...req, property: "b64", decodingStrategy: "Base64" })],
    [0xff, 0, 0xfe],
  );
  assert.deepEqual(
    [...extractValue({ data }, { ...req, property: "url", decodingStrategy: "Base64URL" })],
    [0xff, 0xef],
  );
  assert.deepEqual(
    [...extractValue({ data }, { ...req, property: "b64", decodingStrategy: "Auto" })],
    [0xff, 0, 0xfe],
  );
  assert.equal(
    text(extractValue({ data }, { ...req, property: "plain", decodingStrategy: "Auto" })),
    "not base64!",
  );
  assert.throws(
    () => extractValue({ data }, { ...req, property: "plain", decodingStrategy: "Base64" }),
    (e: Error) =>
      e instanceof InvalidSpecError && /property "plain": value is not valid Base64$/.test(e.message),
  );
});

void test("errors name store, key and property and never the value", () => {
  const secretValue = "hunter2-very-secret";
  for (const [value, property, type] of [
    [{ data: { password: secretValue } }, "missing", SecretNotFoundError],
    [{ data: secretValue }, "user", InvalidSpecError],
    [{ data: { password: secretValue } }, "/password/deeper", SecretNotFoundError],
  ] as const) {
    assert.throws(
      () => extractValue(value, { ...req, property }),
      (e: Error) => {
        assert.ok(e instanceof type, e.name);
        assert.match(e.message, new RegExp(`^SecretStore/ns/s: key "team-a/db" property "${property}": `));
        assert.ok(!e.message.includes(secretValue));
        return true;
      },
    );
  }
});

void test("extractMap returns every key as bytes, from a map, a JSON blob or a selected object", () => {
  const m = extractMap({ data: { a: "1", b: 2 } }, req);
  assert.deepEqual(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, text(v)])), { a: "1", b: "2" });
  const blob = extractMap({ data: '{"x":{"y":"z"}}' }, { ...req, property: "x" });
  assert.equal(text(blob.y as Uint8Array), "z");
  const decoded = extractMap({ data: { a: "aGk=" } }, { ...req, decodingStrategy: "Base64" });
  assert.equal(text(decoded.a as Uint8Array), "hi");
  assert.throws(() => extractMap({ data: "plain" }, req), /not a map of keys to values/);
});

void test("metadata (GCP, Kubernetes): labels, annotations, labels.KEY, as ESO selects them", () => {
  const labelled = (escapeHtml: boolean) => ({
    data: goMetadataJson({ annotations: { note: "a<b", "x.io/y": "v" }, labels: null }, escapeHtml),
    metadata: { shape: "labels" as const, escapeHtml },
  });
  const gcp = labelled(true);
  assert.equal(
    text(extractValue(gcp, req)),
    '{"annotations":{"note":"a\\u003cb","x.io/y":"v"},"labels":null}',
  );
  assert.equal(
    text(extractValue(gcp, { ...req, property: "annotations" })),
    '{"note":"a\\u003cb","x.io/y":"v"}',
  );
  assert.equal(
    text(extractValue(labelled(false), { ...req, property: "annotations" })),
    '{"note":"a<b","x.io/y":"v"}',
  );
  assert.equal(text(extractValue(gcp, { ...req, property: "labels" })), "null");
  assert.equal(text(extractValue(gcp, { ...req, property: "annotations.x.io/y" })), "v");
  assert.throws(() => extractValue(gcp, { ...req, property: "labels.team" }), SecretNotFoundError);
  assert.throws(() => extractValue(gcp, { ...req, property: "team" }), /labels, annotations, labels\.KEY/);
  // dataFrom.extract: each group as its JSON.
  assert.deepEqual(Object.fromEntries(Object.entries(extractMap(gcp, req)).map(([k, v]) => [k, text(v)])), {
    annotations: '{"note":"a\\u003cb","x.io/y":"v"}',
    labels: "null",
  });
});

void test("metadata (Azure): a tag, TAG.PATH inside a JSON tag; extract reads ESO's flattened map", () => {
  const value = {
    data: goMetadataJson({ env: "prod", cfg: '{"db":{"port":"5432"},"a.b":"x"}' }, true),
    metadata: { shape: "tags" as const, escapeHtml: true, extract: { s_env: "prod" } },
  };
  assert.equal(text(extractValue(value, { ...req, property: "env" })), "prod");
  assert.equal(text(extractValue(value, { ...req, property: "cfg.db.port" })), "5432");
  assert.equal(text(extractValue(value, { ...req, property: "cfg.a.b" })), "x");
  assert.throws(() => extractValue(value, { ...req, property: "nope" }), SecretNotFoundError);
  assert.deepEqual(Object.keys(extractMap(value, req)), ["s_env"]);
  assert.throws(() => extractMap(value, { ...req, property: "env" }), InvalidSpecError);
});
