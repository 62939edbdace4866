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
import { checkYaml, cpuMsSince, leastCpuMs, yamlStream } from "./cases.ts";

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
      const started = process.cpuUsage();
      const result = parseStream(text, "f");
      assert.equal(result.documents.length, 0);
      assert.equal(result.errors.length, 1, result.errors.join("\n"));
      assert.match(result.errors[0] ?? "", expected);
      const ms = cpuMsSince(started); // CPU, not wall-clock, time: a loaded machine does not stretch it
      assert.ok(ms < 5_000, `${ms.toFixed(0)} ms of CPU for ${JSON.stringify(text.slice(0, 40))}…`);
    }
  });

  // Linear means: sixteen times the input, about sixteen times the work. Each shape is parsed at n
  // and 16n back to back, and the CPU time (not the wall clock, which a loaded machine stretches at
  // random) of the least of five runs each is compared: linear gives a ratio near 16, quadratic near
  // 256. The wide step keeps the two far apart: at ×4 a sub-millisecond small run on a loaded machine
  // pushed a linear parser past a ×8 bound. A large input that parses in under 20 ms of CPU is linear
  // whatever its ratio (a quadratic one would take seconds).
  void test("the reference parser stays linear on long adversarial strings", () => {
    // Strings built to trigger backtracking: repeated prefixes, unterminated markers, nested placeholders.
    const shapes: ((n: number) => string)[] = [
      (n) => "ref+".repeat(n / 4),
      (n) => "ref+vault://".repeat(n / 12),
      (n) => "ref+vault://a".padEnd(n, "/"),
      (n) => "ref+vault://a#" + "+".repeat(n),
      (n) => "ref+vault://a?store=" + "&store=".repeat(n / 7),
      (n) => "x ref+vault://a#b" + " ref+vault://a#b".repeat(n / 16),
      (n) => "<path:".repeat(n / 6),
      (n) => "<".repeat(n),
      (n) => "<path:secret/data/x#k" + " | base64encode".repeat(n / 15),
      (n) => "<path:" + "a".repeat(n) + "#",
    ];
    const parseAll = (s: string) => {
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
    };
    const n = 50_000;
    for (const shape of shapes) {
      const small = shape(n);
      const large = shape(16 * n);
      parseAll(small); // warm up the JIT, so that the small run is not the interpreter's
      const smallMs = leastCpuMs(() => parseAll(small));
      const largeMs = leastCpuMs(() => parseAll(large));
      const ratio = largeMs / Math.max(smallMs, 0.01);
      const what = `${JSON.stringify(large.slice(0, 40))}…: ${smallMs.toFixed(2)} ms of CPU at ${small.length} chars, ${largeMs.toFixed(2)} ms at ${large.length}`;
      assert.ok(largeMs < 20 || ratio < 48, `super-linear (×${ratio.toFixed(1)} for ×16 input) on ${what}`);
      assert.ok(largeMs < 3_000, what);
    }
  });
});
