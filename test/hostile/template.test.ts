/**
 * Hostile templates (`spec.target.template.data`): the ExternalSecret's author
 * is a tenant, so a template must not crash or stall the controller, read
 * files, the environment or the network, reach JavaScript prototypes, or
 * loop without bound. Fuzzed with 10,000 generated templates (seeded:
 * FC_SEED reproduces or explores), plus concrete attacks.
 * The engine's own unit tests (src/template/engine.test.ts) cover the helpers.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InvalidSpecError } from "../../src/errors.ts";
import { MAX_ITERATIONS } from "../../src/template/engine.ts";
import { checkTemplate, cpuMsSince, renderText, templateCase, values } from "./cases.ts";
import { helpers } from "../../src/template/helpers.ts";

const seed = Number(process.env.FC_SEED ?? 11_2026);

void describe("hostile templates", () => {
  void test("10,000 generated templates render within bounds or fail with a located InvalidSpecError", () => {
    fc.assert(
      fc.property(templateCase, (source) => checkTemplate(source)),
      { seed, numRuns: 10_000 },
    );
  });

  void test("no way to JavaScript prototypes, the process or globals", () => {
    const probes = [
      "{{constructor}}",
      "{{__proto__}}",
      "{{password.constructor}}",
      "{{password.constructor.name}}",
      '{{lookup this "constructor"}}',
      '{{lookup (lookup this "constructor") "constructor"}}',
      '{{lookup password "constructor"}}',
      '{{lookup (lookup password "__proto__") "toString"}}',
      "{{@root.constructor.name}}",
      "{{#with this}}{{constructor.name}}{{/with}}",
      "{{#each (split csv ',')}}{{constructor.name}}{{/each}}",
      "{{toJson (lookup (fromJson json) '__proto__')}}",
      "{{process.env.HOME}}{{global.process.pid}}{{globalThis.process}}",
      "{{toJson this}}",
    ];
    for (const source of probes) {
      let out = "";
      try {
        out = renderText({ k: source }, values).k ?? "";
      } catch (err) {
        assert.ok(err instanceof InvalidSpecError, `${source}: ${String(err)}`);
        continue;
      }
      for (const leaked of [
        "function",
        "Object",
        "String",
        "Function",
        process.env.HOME ?? "\0",
        String(process.pid),
      ]) {
        // toJson of the context is fine: it holds only the fetched values.
        if (source === "{{toJson this}}") break;
        assert.ok(!out.includes(leaked), `${source} → ${out}`);
      }
    }
    // Calling anything that is not a listed helper (constructor.constructor("return process")…) does not compile.
    for (const source of [
      '{{constructor.constructor "return process"}}',
      '{{password.constructor "x"}}',
      "{{log password}}",
      "{{blockHelperMissing password}}",
      "{{#evil password}}{{/evil}}",
      "{{lookup.constructor 'x'}}",
    ]) {
      assert.throws(() => renderText({ k: source }, values), InvalidSpecError, source);
    }
  });

  void test("no file, environment or network access: only pure formatting helpers are reachable", () => {
    // The complete set of names a template can call (knownHelpersOnly): a new one must be reviewed here.
    assert.deepEqual(Object.keys(helpers).sort(), [
      "b64dec",
      "b64enc",
      "default",
      "filterPEM",
      "fromJson",
      "fromYaml",
      "join",
      "lower",
      "pemCount",
      "pemEncode",
      "split",
      "toJson",
      "toYaml",
      "trim",
      "upper",
    ]);
    // …and the module that implements them imports nothing that could read a file, the environment or the
    // network: only the YAML parser and the error classes, which import nothing at all.
    const imports = (file: string) => {
      const source = readFileSync(join(import.meta.dirname, "../../src", file), "utf8");
      assert.doesNotMatch(source, /\bprocess\b|\brequire\(|\bimport\(|\bfetch\(|\beval\(|new Function/, file);
      return [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    };
    assert.deepEqual(imports("template/helpers.ts"), ["yaml", "../errors.ts"]);
    assert.deepEqual(imports("errors.ts"), []);
    // Partials cannot name files: there is no partial but an inline one.
    assert.throws(() => renderText({ k: "{{> /etc/passwd}}" }, values), InvalidSpecError);
    assert.throws(() => renderText({ k: "{{> (lookup . 'password')}}" }, values), InvalidSpecError);
  });

  void test("no unbounded loop, recursion or expansion", () => {
    const big = "x".repeat(20_000);
    const cases: [string, Record<string, string>, RegExp][] = [
      // Nested loops over split values: 20,000³ iterations unless bounded.
      [
        "{{#each (split v '')}}{{#each (split ../v '')}}{{#each (split ../../v '')}}y{{/each}}{{/each}}{{/each}}",
        { v: big },
        new RegExp(`more than ${MAX_ITERATIONS} iterations`),
      ],
      // Each body repeats a large value: the output budget stops it before it is built.
      ["{{#each (split v '')}}{{../w}}{{/each}}", { v: "x".repeat(50_000), w: big }, /output larger than/],
      // Recursion through an inline partial ends in a stack overflow, reported as a template failure.
      ['{{#*inline "p"}}x{{> p}}{{/inline}}{{> p}}', {}, /template failed/],
      // YAML alias expansion ("billion laughs") is refused by the parser.
      [
        "{{toJson (fromYaml v)}}",
        {
          v: [
            'a: &a ["x","x","x","x","x","x","x","x","x"]',
            ...["b", "c", "d", "e", "f", "g"].map(
              (k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefg"[i]}`).join(",")}]`,
            ),
          ].join("\n"),
        },
        /fromYaml: input is not valid YAML/,
      ],
      // Deeply nested JSON: parsed or refused, never a crash.
      ["{{toYaml (fromJson v)}}", { v: "[".repeat(100_000) + "]".repeat(100_000) }, /template failed|.*/],
    ];
    for (const [source, data, expected] of cases) {
      const started = process.cpuUsage();
      try {
        renderText({ k: source }, data);
        assert.ok(expected.source === "template failed|.*", `${source} should have failed`);
      } catch (err) {
        assert.ok(err instanceof InvalidSpecError, `${source}: ${String(err)}`);
        assert.match(err.message, expected);
        assert.match(err.message, /^spec\.target\.template\.data\.k: /);
      }
      const ms = cpuMsSince(started); // CPU, not wall-clock, time: a loaded machine does not stretch it
      assert.ok(ms < 5_000, `${source} took ${ms.toFixed(0)} ms of CPU`);
    }
    // A legitimate loop is unaffected.
    const rows = Array.from({ length: 1000 }, (_, i) => `u${i}`).join(",");
    const out = renderText({ k: "{{#each (split v ',')}}{{this}};{{/each}}" }, { v: rows }).k ?? "";
    assert.equal(out.split(";").length, 1001);
  });
});
