import assert from "node:assert/strict";
import { test } from "node:test";
import { findInDocument, formatPath } from "./find.ts";

const secret = {
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "db", namespace: "app", annotations: { "avp.kubernetes.io/path": "secret/data/app" } },
  stringData: { url: "postgres://u:ref+vault://team-a/db#password+@h/db", plain: "literal", user: "<user>" },
  data: {
    direct: "ref+fake://names#a",
    encoded: Buffer.from("ref+fake://names#b").toString("base64"),
    binary: Buffer.from([0xff, 0x00]).toString("base64"),
  },
};

void test("finds refs and placeholders with file, document, object and YAML path", () => {
  const { occurrences, errors } = findInDocument({ file: "app/secret.yaml", index: 1, value: secret });
  assert.deepEqual(errors, []);
  assert.deepEqual(
    occurrences.map((o) => [
      o.location.path,
      o.tokens.map((t) => `${t.syntax}:${t.ref.provider}:${t.ref.path}#${t.ref.fragment}`),
      o.base64,
    ]),
    [
      ["stringData.url", ["ref:vault:team-a/db#password"], false],
      ["stringData.user", ["avp:vault:app#user"], false],
      ["data.direct", ["ref:fake:names#a"], false],
      ["data.encoded", ["ref:fake:names#b"], true],
    ],
  );
  assert.deepEqual(occurrences[0]?.location, {
    file: "app/secret.yaml",
    document: 1,
    object: "Secret/app/db",
    path: "stringData.url",
  });
});

void test("collects every malformed reference with its full location", () => {
  const doc = {
    kind: "ConfigMap",
    metadata: { name: "cm" },
    data: { a: "ref+vault://", "b.c": ["x ref+vault://p"] },
  };
  const { errors } = findInDocument({ file: "f.yaml", index: 0, value: doc });
  assert.deepEqual(
    errors.map((e) => e.message),
    [
      "f.yaml: document 0: ConfigMap/cm: data.a: offset 12: empty path",
      'f.yaml: document 0: ConfigMap/cm: data["b.c"][0]: offset 15: missing the "+" end marker (an embedded reference ends with "+")',
    ],
  );
});

void test("formatPath quotes keys that are not identifiers", () => {
  assert.equal(formatPath(["spec", "containers", 0, "env", 1, "value"]), "spec.containers[0].env[1].value");
  assert.equal(formatPath(["data", "tls.crt"]), 'data["tls.crt"]');
});
