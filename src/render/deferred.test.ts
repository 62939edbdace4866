// Deferred output, checked against the controller's own template engine:
// what the ExternalSecret says must render the Secret the author meant.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findInDocument } from "../refs/find.ts";
import { renderTemplates } from "../template/engine.ts";
import { toExternalSecret } from "./deferred.ts";

/** The controller's engine over text: values as UTF-8 in, each output read back as UTF-8. */
function renderText(templates: Record<string, string>, values: Record<string, string>) {
  const bytes = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]),
  );
  return Object.fromEntries(
    Object.entries(renderTemplates(templates, bytes)).map(([k, v]) => [k, Buffer.from(v).toString("utf8")]),
  );
}

function convert(value: unknown) {
  const doc = { file: "f.yaml", index: 0, value };
  return toExternalSecret(doc, findInDocument(doc).occurrences, { byProvider: { vault: "main" } });
}

void test("templates render with the controller's engine to the intended Secret data", () => {
  const { value, errors } = convert({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    stringData: {
      url: "https://u:ref+vault://a#p+@h/?q=<x>&y='z'",
      braces: "{{ literal }} and {{{ triple }}}",
      encoded: "<path:secret/data/a#p | base64encode>",
    },
  });
  assert.deepEqual(errors, []);
  const spec = value!.spec;
  assert.deepEqual(spec.secretStoreRef, { name: "main", kind: "SecretStore" });
  // The controller fetches data[] into a map keyed by secretKey, then renders.
  const fetched = Object.fromEntries(
    spec.data!.map((d) => [d.secretKey, `<${d.remoteRef.key}#${d.remoteRef.property}&'">`]),
  );
  const rendered = renderText(spec.target!.template!.data!, fetched);
  assert.deepEqual(rendered, {
    url: `https://u:<a#p&'">@h/?q=<x>&y='z'`,
    braces: "{{ literal }} and {{{ triple }}}",
    encoded: Buffer.from(`<a#p&'">`).toString("base64"),
  });
});

void test("modifiers without a template helper, and binary literals beside references, need inline mode", () => {
  const { errors } = convert({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    stringData: { hashed: "<path:secret/data/a#p | sha256sum>" },
    data: { bin: Buffer.from([0xff, 0xfe]).toString("base64") },
  });
  assert.deepEqual(errors, [
    'f.yaml: document 0: Secret/s: stringData.hashed: AVP modifier "sha256sum" needs inline mode (--mode inline)',
    "f.yaml: document 0: Secret/s: data.bin: a binary literal cannot share a Secret with references in deferred mode; move it to another Secret",
  ]);
});

void test("keys that read the same value each get it, with and without a template", () => {
  const same = "ref+vault://team-a/db#password";
  const plain = convert({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    stringData: { a: same, b: same, c: "<path:secret/data/team-a/db#password>" },
  });
  assert.deepEqual(plain.errors, []);
  assert.equal(plain.value?.spec.target?.template?.data, undefined);
  const ref = { key: "team-a/db", property: "password" };
  assert.deepEqual(plain.value?.spec.data, [
    { secretKey: "a", remoteRef: ref },
    { secretKey: "b", remoteRef: ref },
    { secretKey: "c", remoteRef: ref },
  ]);
  const templated = convert({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    stringData: { a: same, b: same, note: "literal" },
  });
  assert.deepEqual(templated.errors, []);
  assert.deepEqual(templated.value?.spec.data, [{ secretKey: "ref_a", remoteRef: ref }]);
  assert.deepEqual(renderText(templated.value!.spec.target!.template!.data!, { ref_a: "pw" }), {
    a: "pw",
    b: "pw",
    note: "literal",
  });
});
