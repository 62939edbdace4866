/**
 * Hostile input to the plugin's YAML reader (src/render/sources.ts parseStream)
 * and the reference finder that runs on what it reads: 10,000 generated
 * streams (YAML syntax pieces, anchors and aliases, tags, deep nesting,
 * mutations of a valid Secret), seeded (FC_SEED reproduces or explores).
 * Every stream reads or fails with errors that name the file (and the
 * document when there is one); nothing throws; each case finishes in bounded
 * time. Also: long adversarial strings against the reference parser, whose
 * own property test (src/refs/reference.test.ts, 20,000 short strings)
 * cannot reveal super-linear time.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InvalidReferenceError } from "../../src/errors.ts";
import { findReferences, parseReference } from "../../src/refs/reference.ts";
import { findAvpPlaceholders } from "../../src/refs/avp.ts";
import { parseStream } from "../../src/render/sources.ts";
import { checkYaml, yamlStream } from "./cases.ts";

const seed = Number(process.env.FC_SEED ?? 11_2026);
void describe("hostile YAML into the plugin", () => {
  void test("10,000 generated and mutated streams read or fail with located errors, never a throw or a hang", () => {
    fc.assert(
      fc.property(yamlStream, (text) => checkYaml(text)),
      { seed, numRuns: 10_000 },
    );
  });

  void test("resource-exhaustion shapes are refused with a reason, quickly", () => {
    const header = "apiVersion: v1\nkind: Secret\n";
    const laughs = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...["b", "c", "d", "e", "f", "g"].map(
        (k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefg"[i]}`).join(",")}]`,
      ),
    ].join("\n");
    const cases: [string, RegExp][] = [
      [header + laughs + "\n", /^f: document 0: invalid YAML: too many aliases$/],
      [
        header + "data: " + "[".repeat(50_000) + "]".repeat(50_000) + "\n",
        /^f: (document 0: )?invalid YAML: nested /,
      ],
      [
        header + "data: " + "{a: ".repeat(20_000) + "1" + "}".repeat(20_000) + "\n",
        /^f: (document 0: )?invalid YAML: nested /,
      ],
      [header + "a: &a [*a]\n", /^f: document 0: invalid YAML: an alias refers to a node that contains it$/],
      [
        header + "a: &a { b: *a }\n",
        /^f: document 0: invalid YAML: an alias refers to a node that contains it$/,
      ],
    ];
    for (const [text, expected] of cases) {
      const started = performance.now();
      const result = parseStream(text, "f");
      assert.equal(result.documents.length, 0);
      assert.equal(result.errors.length, 1, result.errors.join("\n"));
      assert.match(result.errors[0] ?? "", expected);
      assert.ok(performance.now() - started < 5_000);
    }
  });

  void test("the reference parser stays linear on long adversarial strings", () => {
    // 200 KB strings built to trigger backtracking: repeated prefixes, unterminated markers, nested placeholders.
    const n = 200_000;
    const inputs = [
      "ref+".repeat(n / 4),
      "ref+vault://".repeat(n / 12),
      "ref+vault://a".padEnd(n, "/"),
      "ref+vault://a#" + "+".repeat(n),
      "ref+vault://a?store=" + "&store=".repeat(n / 7),
      "x ref+vault://a#b" + " ref+vault://a#b".repeat(n / 16),
      "<path:".repeat(n / 6),
      "<".repeat(n),
      "<path:secret/data/x#k" + " | base64encode".repeat(n / 15),
      "<path:" + "a".repeat(n) + "#",
    ];
    for (const s of inputs) {
      const started = performance.now();
      for (const parse of [
        parseReference,
        findReferences,
        (x: string) => findAvpPlaceholders(x, { annotations: { "avp.kubernetes.io/path": "secret/data/x" } }),
      ]) {
        try {
          parse(s);
        } catch (err) {
          assert.ok(err instanceof InvalidReferenceError, String(err));
        }
      }
      const ms = performance.now() - started;
      assert.ok(ms < 3_000, `${ms.toFixed(0)} ms for ${JSON.stringify(s.slice(0, 40))}…`);
    }
  });
});
