/**
 * Generators and per-case checks of the hostile-input suites, shared by the
 * fast suites (10,000 cases, fixed seeds) and the soak suite (many more
 * cases, a new seed each run).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidReferenceError, InvalidSpecError } from "../../src/errors.ts";
import { findInDocument } from "../../src/refs/find.ts";
import { parseStream } from "../../src/render/sources.ts";
import { MAX_OUTPUT_BYTES, renderTemplates } from "../../src/template/engine.ts";
import { helpers } from "../../src/template/helpers.ts";

// ---- templates

export const SECRET = "Hostile-Template-S3cret-7781";
export const values = {
  password: SECRET,
  json: `{"a":[1,2,{"b":"${SECRET}"}],"c":"x"}`,
  yaml: `a: &x [${SECRET}, 2]\nb: *x\n`,
  csv: `${SECRET},b,c,d`,
  pem: `-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n`,
};
/** renderTemplates over text: values in as UTF-8, each output read back as UTF-8. */
export function renderText(
  templates: Record<string, string>,
  text: Record<string, string>,
): Record<string, string> {
  const bytes = Object.fromEntries(Object.entries(text).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]));
  return Object.fromEntries(
    Object.entries(renderTemplates(templates, bytes)).map(([k, v]) => [k, Buffer.from(v).toString("utf8")]),
  );
}
const valueBytes = Object.fromEntries(
  Object.entries(values).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]),
);
/**
 * Slowest case allowed, in CPU time of this process: a super-linear blow-up
 * burns CPU, while a loaded machine only stretches the wall clock (a case of a
 * few milliseconds can wait seconds for a core), so CPU time keeps the bound
 * tight and true under load.
 */
const CASE_BUDGET_MS = 2_000;

/** Milliseconds of CPU (user + system) this process used since `since` (a `process.cpuUsage()`). */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

/** The least CPU time of `runs` calls of `f` (the least is the one that no GC or migration inflated). */
export function leastCpuMs(f: () => void, runs = 5): number {
  let least = Infinity;
  for (let i = 0; i < runs; i++) {
    const since = process.cpuUsage();
    f();
    least = Math.min(least, cpuMsSince(since));
  }
  return least;
}

const word = fc.constantFrom(
  ...Object.keys(values),
  ...Object.keys(helpers),
  "if",
  "unless",
  "each",
  "with",
  "lookup",
  "log",
  "helperMissing",
  "blockHelperMissing",
  "constructor",
  "__proto__",
  "__defineGetter__",
  "prototype",
  "process",
  "require",
  "global",
  "globalThis",
  "this",
  "..",
  "@root",
  "@index",
  "@key",
  "toString",
  "valueOf",
);
const path = fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join("."));
const argument = fc.oneof(
  path,
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: -3, max: 99 }).map(String),
);
const call = fc
  .tuple(path, fc.array(argument, { maxLength: 3 }))
  .map(([head, rest]) => [head, ...rest].join(" "));
export const templateCase: fc.Arbitrary<string> = fc.letrec<{ t: string }>((tie) => ({
  t: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.string({ maxLength: 8 }),
    call.map((c) => `{{${c}}}`),
    call.map((c) => `{{{${c}}}}`),
    call.map((c) => `{{~${c}~}}`),
    fc.tuple(call, tie("t")).map(([c, body]) => `{{(${c})}}${body}`),
    fc
      .tuple(fc.constantFrom("if", "unless", "each", "with"), call, tie("t"), tie("t"))
      .map(([h, c, body, alt]) => `{{#${h} ${c}}}${body}{{else}}${alt}{{/${h}}}`),
    fc
      .tuple(fc.constantFrom("each", "with"), call, tie("t"))
      .map(([h, c, body]) => `{{#${h} (${c}) as |a b|}}${body}{{a}}{{b}}{{/${h}}}`),
    fc.tuple(word, tie("t")).map(([n, body]) => `{{#*inline "${n}"}}${body}{{/inline}}{{> ${n}}}`),
    fc.constantFrom(
      "{{> x}}",
      "{{* d}}",
      "{{!-- c --}}",
      "{{{{raw}}}}{{x}}{{{{/raw}}}}",
      "{{",
      "}}",
      "{{#if}}",
    ),
    fc.array(tie("t"), { maxLength: 4 }).map((parts) => parts.join("")),
  ),
})).t;

/** The only acceptable outcomes: rendered strings within bounds, or an InvalidSpecError that names the key. */
export function checkTemplate(source: string): void {
  const started = process.cpuUsage();
  try {
    const out = renderTemplates({ "tls.key": source }, valueBytes);
    assert.ok(out["tls.key"] instanceof Uint8Array);
    assert.ok(out["tls.key"].length <= MAX_OUTPUT_BYTES);
  } catch (err) {
    assert.ok(err instanceof InvalidSpecError, `${source}: ${String(err)}`);
    assert.match(err.message, /^spec\.target\.template\.data\.tls\.key: \S/, source);
    assert.ok(!err.message.includes(SECRET), err.message);
  }
  const ms = cpuMsSince(started);
  assert.ok(ms < CASE_BUDGET_MS, `${source} took ${ms.toFixed(0)} ms of CPU`);
}

// ---- YAML streams

const VALID = `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations: { avp.kubernetes.io/path: "secret/data/db" }
stringData:
  password: ref+vault://team-a/db#password
  url: "postgres://app:ref+vault://team-a/db#password+@db:5432/app"
  avp: <path:secret/data/db#password | base64encode>
data:
  token: cmVmK2Zha2U6Ly9hI3A=
`;

const fragment = fc.constantFrom(
  "apiVersion: v1\n",
  "kind: Secret\n",
  "metadata:\n  name: x\n",
  "metadata: [1]\n",
  "metadata: { annotations: 3 }\n",
  "---\n",
  "...\n",
  "%YAML 1.2\n---\n",
  "%TAG ! tag:x,2000:\n",
  "a: &a [1, 2]\n",
  "b: *a\n",
  "c: *missing\n",
  "d: &d { e: *d }\n",
  "<<: *a\n",
  "f: !!binary AAAA\n",
  "g: !!js/function 'function(){}'\n",
  "h: !custom { x: 1 }\n",
  "i: |\n  ref+fake://a#p\n",
  "j: >-\n  folded\n",
  "k: 'ref+vault://a/b#c'\n",
  'l: "<path:secret/data/x#k>"\n',
  "m: ref+vault://x?bogus=1\n",
  "__proto__: { polluted: true }\n",
  "constructor: { prototype: { polluted: true } }\n",
  "\t- tab\n",
  "? complex\n: key\n",
  "[1, 2\n",
  "{a: b\n",
  "\uFEFF",
  "\u0000",
  "#comment\n",
  "stringData:\n  p: ref+fake://a#p\n",
  "data:\n  p: '!!!not base64'\n",
  "n: " + "[".repeat(300) + "]".repeat(300) + "\n",
  "o:\n" + Array.from({ length: 200 }, (_, i) => `${" ".repeat(i + 2)}- `).join("\n") + "x\n",
);
const indent = fc.constantFrom("", "  ", "    ", "\t");
const generated = fc
  .array(
    fc.oneof(
      fc.tuple(indent, fragment).map(([i, f]) => i + f),
      fc.string({ maxLength: 10 }),
    ),
    {
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(""));
const mutated = fc
  .array(
    fc.tuple(
      fc.nat(),
      fc.constantFrom("insert", "delete", "replace"),
      fc.oneof(fragment, fc.string({ maxLength: 4 })),
    ),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .map((edits) => {
    let s = VALID;
    for (const [at, op, text] of edits) {
      const i = at % (s.length + 1);
      s =
        op === "insert"
          ? s.slice(0, i) + text + s.slice(i)
          : s.slice(0, i) + (op === "replace" ? text : "") + s.slice(i + 1);
    }
    return s;
  });

export function checkYaml(text: string): void {
  const started = process.cpuUsage();
  const result = parseStream(text, "app/secret.yaml", { trackQuotes: true });
  for (const error of result.errors) assert.match(error, /^app\/secret\.yaml: (document \d+: )?\S/, error);
  for (const doc of result.documents) {
    const found = findInDocument(doc);
    for (const err of found.errors) {
      assert.ok(err instanceof InvalidReferenceError);
      assert.equal(err.location.file, "app/secret.yaml");
      assert.equal(typeof err.location.document, "number");
      assert.equal(typeof err.location.path, "string");
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype polluted");
  const ms = cpuMsSince(started);
  assert.ok(
    ms < CASE_BUDGET_MS,
    `case took ${ms.toFixed(0)} ms of CPU: ${JSON.stringify(text.slice(0, 200))}`,
  );
}

export const yamlStream = fc.oneof(generated, mutated);
