/**
 * Property test of the whole pipeline: arbitrary Kubernetes-shaped documents
 * (references, placeholders, base64, odd shapes) in both modes never crash
 * the renderer — it either renders or lists errors — and no error line ever
 * contains a value the store holds. Seeded (FC_SEED to explore).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { parseConfig, type Mode } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";

const secretValues = ["Sup3r-S3cret-Value", "an0ther-hidden-one"];
const config = parseConfig(
  `
stores:
  demo:
    provider:
      fake:
        data:
          - { key: a, valueMap: { p: ${secretValues[0]}, n: 1, j: "{\\"k\\": \\"${secretValues[1]}\\"}" } }
          - { key: b, value: "//79" }
defaultStores: { fake: demo }
avp: { provider: fake, store: demo }
modes: [deferred, inline]
policy: [{ projects: [p], stores: [demo], paths: [a, b] }]
`,
  "refsync.yaml",
);

const text = fc.oneof(
  fc.constantFrom(
    "ref+fake://a#p",
    "ref+fake://a#n",
    "ref+fake://a#j",
    "ref+fake://a#/j/k",
    "x ref+fake://a#p+ y",
    "ref+fake://b?decode=base64",
    "ref+fake://c#p",
    "<path:a#p | jsonParse>",
    "<path:a#j | jsonPath {.k}>",
    "<p>",
    "ref+vault://",
    "cmVmK2Zha2U6Ly9hI3A=",
    "{{ x }}",
  ),
  fc.string({ maxLength: 12 }),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    text,
    fc.integer(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom("data", "stringData", "name", "x", "annotations", "avp.kubernetes.io/path"),
      tie("v"),
      {
        maxKeys: 3,
      },
    ),
  ),
})).v;
const documents = fc.array(
  fc.record(
    {
      apiVersion: fc.constantFrom("v1", "apps/v1"),
      kind: fc.constantFrom("Secret", "ConfigMap", "Deployment"),
      metadata: value,
      data: value,
      stringData: value,
    },
    { requiredKeys: ["apiVersion", "kind"] },
  ),
  { minLength: 1, maxLength: 3 },
);

void test("any document stream renders or fails with located errors, never a crash or a leaked value", async () => {
  await fc.assert(
    fc.asyncProperty(documents, fc.constantFrom<Mode>("deferred", "inline"), async (docs, mode) => {
      const input = docs.map((d) => stringify(d)).join("---\n");
      const result = await render({
        input: "-",
        mode,
        config,
        requester: { project: "p", namespace: "n" },
        stdin: () => Promise.resolve(input),
      });
      if (result.ok) return;
      assert.ok(result.errors.length > 0);
      for (const line of result.errors) {
        assert.match(line, /^stdin: document [0-9]+: /);
        for (const secret of secretValues) assert.ok(!line.includes(secret), line);
      }
    }),
    { seed: Number(process.env.FC_SEED ?? 424242), numRuns: 1500 },
  );
});
