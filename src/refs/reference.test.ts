import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { findAvpPlaceholders } from "./avp.ts";
import { InvalidReferenceError } from "../errors.ts";
import {
  DECODINGS,
  PROVIDERS,
  findReferences,
  formatReference,
  parseReference,
  type Reference,
} from "./reference.ts";

// Seeded, so a failure reproduces; FC_SEED overrides to explore.
const seed = Number(process.env.FC_SEED ?? 20261123);

void test("parses the documented forms", () => {
  assert.deepEqual(parseReference("ref+vault://team-a/db#password"), {
    provider: "vault",
    path: "team-a/db",
    fragment: "password",
  });
  assert.deepEqual(
    parseReference("ref+awssecrets://prod/api?version=AWSPREVIOUS&store=aws-east&decode=base64#/a/b+"),
    {
      provider: "awssecrets",
      path: "prod/api",
      version: "AWSPREVIOUS",
      store: "aws-east",
      decode: "base64",
      fragment: "/a/b",
    },
  );
  assert.deepEqual(parseReference("ref+k8s://db?store=ClusterSecretStore/shared"), {
    provider: "k8s",
    path: "db",
    store: "ClusterSecretStore/shared",
  });
});

void test("finds embedded references by their end marker", () => {
  const s = "postgres://app:ref+vault://team-a/db#password+@db:5432/ref+fake://names#db+";
  const spans = findReferences(s);
  assert.deepEqual(
    spans.map((x) => [x.start, x.end, x.ref.path]),
    [
      [15, 46, "team-a/db"],
      [55, 75, "names"],
    ],
  );
  assert.deepEqual(findReferences("a git ref+ not a reference"), []);
});

void test("errors say where and what", () => {
  const cases: [string, string][] = [
    ["ref+vault://", "offset 12: empty path"],
    [
      "ref+nope://x",
      'offset 4: unknown provider "nope" (expected vault, awssecrets, gcpsm, azurekv, k8s, fake)',
    ],
    ["ref+vault://a?foo=1", 'offset 14: unknown parameter "foo" (expected store, version, decode)'],
    ["ref+vault://a?store=x&store=y", 'offset 22: parameter "store" given twice'],
    ["ref+vault://a?version=", 'offset 22: parameter "version" has an empty value'],
    ["ref+vault://a?decode=hex", "offset 21: decode must be one of base64, base64url, auto"],
    ["ref+vault://a#", "offset 13: empty fragment after #"],
    ["ref+vault://a b", 'offset 13: unexpected character " "'],
    ["ref+vault://a%zz", 'offset 13: path: "%" must be followed by two hex digits'],
    ["ref+vault://a%ff", "offset 16: path: percent-encoding is not valid UTF-8"],
    ["ref+vault://a+b", 'offset 14: unexpected text after the "+" end marker'],
    ["vault://a", 'offset 0: expected "ref+<provider>://"'],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseReference(input),
      (e: Error) => e instanceof InvalidReferenceError && e.message === message,
      input,
    );
  }
  assert.throws(
    () => findReferences("x=ref+vault://a"),
    /offset 15: missing the "\+" end marker \(an embedded reference ends with "\+"\)/,
  );
});

// Parts drawn from well-formed Unicode plus every character the grammar treats specially.
const part = fc.string({
  minLength: 1,
  maxLength: 24,
  unit: fc.oneof(
    fc.constantFrom("+", "?", "#", "&", "=", "%", "/", " ", "~", ":", "@", "\n", "{", "<"),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
  ),
});
const reference: fc.Arbitrary<Reference> = fc
  .record(
    {
      provider: fc.constantFrom(...PROVIDERS),
      path: part,
      fragment: part,
      store: part,
      version: part,
      decode: fc.constantFrom(...(Object.keys(DECODINGS) as (keyof typeof DECODINGS)[])),
    },
    { requiredKeys: ["provider", "path"] },
  )
  .map((r) => ({ ...r })); // fast-check's records have a null prototype

void test("parse ∘ format is the identity, standalone and embedded", () => {
  fc.assert(
    fc.property(reference, fc.boolean(), fc.stringMatching(/^[a-z :/@]{1,10}$/), (ref, marker, around) => {
      assert.deepEqual(parseReference(formatReference(ref, marker)), ref);
      const embedded = `${around}${formatReference(ref, true)}${around}`;
      const spans = findReferences(embedded);
      assert.equal(spans.length, 1);
      assert.deepEqual(spans[0]?.ref, ref);
      assert.equal(spans[0]?.start, around.length);
    }),
    { seed, numRuns: 2000 },
  );
});

function assertOnlyTypedErrors(input: string, run: (s: string) => unknown): void {
  try {
    run(input);
  } catch (err) {
    assert.ok(err instanceof InvalidReferenceError, `${(err as Error).name} for ${JSON.stringify(input)}`);
    const offset = err.location.offset ?? -1;
    assert.ok(offset >= 0 && offset <= input.length, `offset ${offset} outside ${JSON.stringify(input)}`);
    assert.match(err.message, /^offset [0-9]+: \S/);
  }
}

// Mutations of valid references: the strings most likely to reach deep into the parser.
const mutated = fc
  .tuple(
    reference,
    fc.boolean(),
    fc.array(
      fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.string({ maxLength: 2 })),
      { maxLength: 4 },
    ),
  )
  .map(([ref, marker, edits]) => {
    let s = formatReference(ref, marker);
    for (const [at, op, text] of edits) {
      const i = at % (s.length + 1);
      s =
        op === "insert"
          ? s.slice(0, i) + text + s.slice(i)
          : s.slice(0, i) + (op === "replace" ? text : "") + s.slice(i + 1);
    }
    return s;
  });
const random = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.string({ maxLength: 60 }).map((s) => `ref+${s}`),
  fc.string({ maxLength: 30 }).map((s) => `<path:${s}>`),
);

void test("10,000 random and 10,000 mutated strings raise only InvalidReferenceError with a location", () => {
  for (const [arbitrary, offset] of [
    [random, 0],
    [mutated, 1],
  ] as const) {
    fc.assert(
      fc.property(arbitrary, (s) => {
        assertOnlyTypedErrors(s, parseReference);
        assertOnlyTypedErrors(s, findReferences);
        assertOnlyTypedErrors(s, (x) =>
          findAvpPlaceholders(x, { annotations: { "avp.kubernetes.io/path": "secret/data/x" } }),
        );
      }),
      { seed: seed + offset, numRuns: 10_000 },
    );
  }
});
