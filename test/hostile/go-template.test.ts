/**
 * Hostile Go templates (engineVersion v2): a tenant's template must not crash
 * or stall the controller, reach JavaScript prototypes, the process, files,
 * the environment or the network, or leak a value in an error. Fuzzed with
 * generated templates (seeded: FC_SEED reproduces or explores), plus
 * concrete attacks: deep nesting, huge and nested ranges, quadratic and
 * exponential string building, huge widths, deep JSON, YAML alias bombs.
 * The engine's own unit tests are src/template/go/engine.test.ts.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InvalidSpecError } from "../../src/errors.ts";
import { MAX_OUTPUT_BYTES, renderTemplates } from "../../src/template/engine.ts";
import { cpuMsSince, SECRET, values } from "./cases.ts";

const seed = Number(process.env.FC_SEED ?? 20_2026);
const valueBytes = Object.fromEntries(
  Object.entries(values).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]),
);

/** Renders or fails with a located InvalidSpecError, within the output bound and a CPU budget; returns the output. */
function check(source: string, data: Record<string, Uint8Array> = valueBytes, budgetMs = 2_000): string {
  const started = process.cpuUsage();
  let out = "";
  try {
    const r = renderTemplates({ k: source }, data, "v2");
    assert.ok(r.k!.length <= MAX_OUTPUT_BYTES);
    out = Buffer.from(r.k!).toString("latin1");
  } catch (err) {
    assert.ok(err instanceof InvalidSpecError, `${source}: ${String(err)}`);
    assert.match(err.message, /^spec\.target\.template\.data\.k: \S/, source);
    assert.ok(!err.message.includes(SECRET), err.message);
  }
  const ms = cpuMsSince(started);
  assert.ok(ms < budgetMs, `${source.slice(0, 200)} took ${ms.toFixed(0)} ms of CPU`);
  return out;
}

function failsWith(source: string, expected: RegExp, data: Record<string, Uint8Array> = valueBytes): void {
  const started = process.cpuUsage();
  assert.throws(
    () => renderTemplates({ k: source }, data, "v2"),
    (e: unknown) => e instanceof InvalidSpecError && expected.test(e.message),
    source.slice(0, 200),
  );
  const ms = cpuMsSince(started);
  assert.ok(ms < 5_000, `${source.slice(0, 200)} took ${ms.toFixed(0)} ms of CPU`);
}

const operand = fc.constantFrom(
  ".password",
  ".json",
  ".csv",
  ".yaml",
  ".pem",
  ".",
  "$",
  '"x"',
  "`raw`",
  "1",
  "-2",
  "3.5",
  "'c'",
  "nil",
  "true",
  "(fromJson .json)",
  '(splitList "," .csv)',
  '(dict "a" 1)',
  "(list 1 2)",
  ".nope",
  "$x",
  ".json.a",
);
const func = fc.constantFrom(
  "b64enc",
  "b64dec",
  "upper",
  "quote",
  "toJson",
  "fromJson",
  "len",
  "index",
  'printf "%s%v%d%q%x"',
  "print",
  'default "d"',
  "repeat 3",
  'join ","',
  "first",
  "eq",
  "not",
  "and",
  "or",
  "slice",
  'filterPEM "CERTIFICATE"',
  "trim",
  "fromYaml",
  "indent 2",
);
const pipeline = fc
  .tuple(
    fc.array(fc.tuple(func, fc.array(operand, { maxLength: 2 })), { minLength: 1, maxLength: 3 }),
    operand,
  )
  .map(([cmds, first]) => [first, ...cmds.map(([f, args]) => [f, ...args].join(" "))].join(" | "));
const goTemplate: fc.Arbitrary<string> = fc.letrec<{ t: string }>((tie) => ({
  t: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      "text ",
      "\n",
      "{{ .password }}",
      "{{- ",
      " -}}",
      "{{",
      "}}",
      "{{ end }}",
      "{{ else }}",
      "$x",
    ),
    pipeline.map((p) => `{{ ${p} }}`),
    pipeline.map((p) => `{{ $x := ${p} }}`),
    fc.tuple(pipeline, tie("t")).map(([p, b]) => `{{ if ${p} }}${b}{{ end }}`),
    fc.tuple(pipeline, tie("t"), tie("t")).map(([p, b, e]) => `{{ with ${p} }}${b}{{ else }}${e}{{ end }}`),
    fc.tuple(pipeline, tie("t")).map(([p, b]) => `{{ range $i, $e := ${p} }}${b}{{ end }}`),
    fc.tuple(tie("t"), tie("t")).map(([a, b]) => a + b),
  ),
})).t;

void describe("hostile Go templates (engineVersion v2)", () => {
  void test("3,000 generated templates render within bounds or fail with a located InvalidSpecError", () => {
    fc.assert(
      fc.property(goTemplate, (source) => {
        check(source);
      }),
      { seed, numRuns: 3_000 },
    );
  });

  void test("no way to JavaScript prototypes, the process or globals", () => {
    const data = {
      ...valueBytes,
      evil: new Uint8Array(Buffer.from('{"__proto__":{"polluted":1},"constructor":{"name":"x"}}')),
    };
    for (const source of [
      "{{ .constructor }}",
      "{{ .__proto__ }}",
      '{{ index . "constructor" }}|{{ index . "__proto__" }}|{{ index . "toString" }}',
      "{{ .password.constructor }}",
      '{{ index (fromJson .evil) "__proto__" }}',
      "{{ (fromJson .evil).constructor.name }}",
      '{{ $m := dict }}{{ $_ := set $m "__proto__" "x" }}{{ $m }}',
      '{{ get (dict) "constructor" }}|{{ hasKey (dict) "toString" }}',
      "{{ process }}{{ globalThis }}{{ require }}",
      '{{ call .password "x" }}',
      '{{ template "x" }}',
    ]) {
      const out = check(source, data);
      for (const leaked of ["function", "[object", "Object", "native code", String(process.pid)])
        assert.ok(!out.includes(leaked), `${source} → ${out}`);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(
      Buffer.from(renderTemplates({ k: '{{ hasKey (dict) "toString" }}' }, valueBytes, "v2").k!).toString(),
      "false",
    );
  });

  void test("the engine imports nothing that reads files, the environment or the network", () => {
    const dir = join(import.meta.dirname, "../../src/template/go");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
      const source = readFileSync(join(dir, file), "utf8");
      assert.doesNotMatch(source, /\bprocess\.|\brequire\(|\bimport\(|\bfetch\(|\beval\(|new Function/, file);
      for (const [, from] of source.matchAll(/^import .* from "([^"]+)";$/gm))
        assert.ok(
          from!.startsWith("./") ||
            // Pure computation only: RE2 regular expressions (re2js) and PKCS #12 (node-forge, its
            // types; ../forge.ts requires it on first use).
            [
              "../helpers.ts",
              "../forge.ts",
              "../../errors.ts",
              "yaml",
              "node:crypto",
              "re2js",
              "node-forge",
            ].includes(from!),
          `${file} imports ${from}`,
        );
    }
  });

  void test("no unbounded loop, recursion or expansion", () => {
    const big = new Uint8Array(Buffer.from("x,".repeat(20_000)));
    const cases: [string, RegExp, Record<string, Uint8Array>?][] = [
      ["{{ range 100000000000 }}{{ end }}", /more than 100000 iterations/],
      [
        '{{ range splitList "," .v }}{{ range splitList "," $.v }}{{ range splitList "," $.v }}y{{ end }}{{ end }}{{ end }}',
        /more than 100000 iterations/,
        { v: big },
      ],
      ["{{ range 50000 }}{{ $.v }}{{ end }}", /output larger than/, { v: big }],
      [
        '{{ $s := "ab" }}{{ range 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ $s }}',
        /larger than|built more than/,
      ],
      ["{{ $l := list }}{{ range 60000 }}{{ $l = append $l 1 }}{{ end }}", /built more than/],
      [
        '{{ $s := "" }}{{ range 90000 }}{{ $s = cat $s "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }}{{ end }}',
        /larger than|built more than/,
      ],
      ['{{ repeat 1000000000 "abc" }}', /result too large/],
      ['{{ printf "%999999999s" "x" }}', /width too large/],
      ['{{ printf "%.999999999f" 1.5 }}', /precision too large/],
      ['{{ indent 999999999 "x" }}', /indent too large/],
      [`{{ ${"(".repeat(500)}1${")".repeat(500)} }}`, /nested deeper than 100/],
      [`${"{{ if true }}".repeat(500)}x${"{{ end }}".repeat(500)}`, /nested deeper than 100/],
      [
        "{{ toJson (fromYaml .v) }}",
        /error calling fromYaml/,
        {
          v: new Uint8Array(
            Buffer.from(
              [
                'a: &a ["x","x","x","x","x","x","x","x","x"]',
                ...["b", "c", "d", "e", "f", "g"].map(
                  (k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefg"[i]}`).join(",")}]`,
                ),
              ].join("\n"),
            ),
          ),
        },
      ],
      [`{{ "${"x".repeat(70_000)}" }}`, /template larger than/],
    ];
    for (const [source, expected, data] of cases) failsWith(source, expected, data ?? valueBytes);
    // Deeply nested JSON: refused or parsed, never a crash.
    check("{{ toJson (fromJson .v) }}", {
      v: new Uint8Array(Buffer.from("[".repeat(100_000) + "]".repeat(100_000))),
    });
    // A legitimate loop is unaffected.
    const out = Buffer.from(
      renderTemplates({ k: '{{ range splitList "," .v }}{{ . }};{{ end }}' }, { v: big }, "v2").k!,
    ).toString();
    assert.equal(out.split(";").length, 20_002);
  });
});
