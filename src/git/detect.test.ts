import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { detect, detectAll, mayHaveFindings } from "./detect.ts";
import { isCredentialKey } from "./rules.ts";

void test("credential-like key names", () => {
  for (const key of [
    "password",
    "adminPassword",
    "DB_PASSWORD",
    "apiKey",
    "api_key",
    "client-secret",
    "secretKey",
    "token",
  ]) {
    assert.ok(isCredentialKey(key), key);
  }
  for (const key of [
    "existingSecret",
    "passwordKey",
    "secretName",
    "tokenPath",
    "secretKeyRef",
    "name",
    "key",
  ]) {
    assert.ok(!isCredentialKey(key), key);
  }
});

void test("finds Secret literals, credential keys, env entries and token shapes, never for references", () => {
  const text = `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: n}
stringData:
  a: literal
  b: ref+vault://x#b
  c: "postgres://u:ref+vault://x#p+@h/db"
  d: ""
---
kind: Deployment
metadata: {name: d}
spec:
  containers:
    - env:
        - {name: DB_PASSWORD, value: hunter2}
        - {name: DB_PASSWORD2, valueFrom: {secretKeyRef: {name: s, key: a}}}
        - name: API_TOKEN
          value: "{{ .Values.token }}"
      args: ["AKIA${"ABCDEFGHIJKLMNOP"}"]
---
auth: {existingSecret: s, password: ref+vault://x#pw, adminPassword: /run/secrets/pw}
---
secretGenerator:
  - name: db
    literals: [username=app, password=hunter2, "token=\${TOKEN}"]
args: ["--db-password=hunter2", "--port=80"]
`;
  assert.deepEqual(
    detect(text, "yaml").map((d) => `${d.line} ${d.rule} ${d.object ?? ""} ${d.key ?? ""}`),
    [
      "5 kubernetes-secret-literal Secret/n/s stringData.a",
      "15 password-in-values Deployment/d spec.containers[0].env[0].value",
      "19 aws-access-key-id Deployment/d spec.containers[0].args[0]",
      "25 password-in-values  secretGenerator[0].literals[1]",
      "26 password-in-values  args[0]",
    ],
  );
});

void test("config files: KEY=value credentials and token shapes; plain text: token shapes only", () => {
  const env = `DB_PASSWORD=hunter2\nDB_HOST=db\nAPI_TOKEN=\${TOKEN}\nGH=ghp_${"a".repeat(36)}\n`;
  assert.deepEqual(
    detect(env, "config").map((d) => `${d.line} ${d.rule}`),
    ["1 password-in-values", "4 github-token"],
  );
  assert.deepEqual(
    detect(env, "text").map((d) => `${d.line} ${d.rule}`),
    ["4 github-token"],
  );
});

// Values and keys chosen to hit every rule and every exemption.
const keys = fc.constantFrom(
  "password",
  "adminPassword",
  "existingSecret",
  "apiKey",
  "name",
  "value",
  "token",
  "url",
  "kind",
  "data",
  "stringData",
  "image",
  "api key",
  "DB_PASSWORD",
  "passwordKey",
);
const values = fc.constantFrom(
  "password=hunter2",
  "--api-key=x",
  "hunter2",
  "",
  "Secret",
  "DB_PASSWORD",
  "ref+vault://a#b",
  "{{ .Values.x }}",
  "${X}",
  "/etc/pw",
  "AKIAABCDEFGHIJKLMNOP",
  "x=password",
  "info",
  "v1",
);
const node: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3 },
    values,
    fc.dictionary(keys, tie("value"), { maxKeys: 4 }),
    fc.array(tie("value"), { maxLength: 3 }),
  ),
})).value;

void test("the pre-filter sees a credential-named env entry whose name is quoted (JSON)", () => {
  const text = JSON.stringify({ value: "info", name: "Secret" }, null, 2);
  assert.ok(detectAll(text, "yaml").length > 0);
  assert.ok(mayHaveFindings(text));
});

void test("the pre-filter never hides a finding (property)", () => {
  fc.assert(
    fc.property(
      fc.dictionary(keys, node, { maxKeys: 5 }),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom("PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE") as fc.Arbitrary<
        "PLAIN" | "QUOTE_DOUBLE" | "QUOTE_SINGLE"
      >,
      fc.boolean(),
      (doc, asSecret, indentSeq, defaultStringType, flow) => {
        const value = asSecret ? { apiVersion: "v1", kind: "Secret", ...doc } : doc;
        const texts = [
          stringify(value, { indentSeq, defaultStringType, collectionStyle: flow ? "flow" : "any" }),
          JSON.stringify(value, null, 2),
          JSON.stringify(value),
        ];
        for (const text of texts) {
          const all = detectAll(text, "yaml");
          if (all.length > 0)
            assert.ok(mayHaveFindings(text), `pre-filter hid ${JSON.stringify(all)} in:\n${text}`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
