// toYaml as ESO's (sigs.k8s.io/yaml over go-yaml v2): the documents Go writes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { renderTemplates } from "../engine.ts";

const render = (source: string, data: Record<string, string> = {}): string => {
  const values = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)]));
  return Buffer.from(renderTemplates({ k: source }, values, "v2").k ?? new Uint8Array()).toString("utf8");
};

void test("maps sorted, sequences under a key not indented, empty collections inline", () => {
  assert.equal(
    render('{{ dict "b" "x" "a" (list 1 "y") "c" (dict) "d" (list) | toYaml }}'),
    'a:\n- 1\n- "y"\nb: x\nc: {}\nd: []',
  );
  assert.equal(
    render('{{ dict "a" (dict "b" (list (dict "c" 1 "d" 2) (list "e" "f"))) | toYaml }}'),
    "a:\n  b:\n  - c: 1\n    d: 2\n  - - e\n    - f",
  );
  // go-yaml's natural order: digit runs compare as numbers.
  assert.equal(render('{{ dict "a10" 1 "a9" 2 "a1" 3 "B" 4 | toYaml }}'), "B: 4\na1: 3\na9: 2\na10: 1");
});

void test("strings quoted as YAML 1.1 needs: double quotes for other types, single for indicators", () => {
  const yaml = (s: string) => render('{{ dict "k" .s | toYaml }}', { s });
  assert.equal(yaml("plain text"), "k: plain text");
  for (const s of ["yes", "off", "true", "null", "~", "12", "1.5", "0x1F", "1e3", "2024-01-01", "1:30", ""])
    assert.equal(yaml(s), `k: "${s}"`, s);
  assert.equal(yaml("2024-13-45"), "k: 2024-13-45");
  assert.equal(yaml("hello: world"), "k: 'hello: world'");
  assert.equal(yaml("- x"), "k: '- x'");
  assert.equal(yaml("#c"), "k: '#c'");
  assert.equal(yaml("it's a#b"), "k: it's a#b");
  assert.equal(yaml("a #b"), "k: 'a #b'");
  assert.equal(yaml(" lead"), "k: ' lead'");
  assert.equal(yaml("line1\nline2"), "k: |-\n  line1\n  line2");
  assert.equal(yaml("line1\n\nline3\n"), "k: |\n  line1\n\n  line3");
});

void test("numbers as go-yaml writes what JSON held; fromYaml round trip", () => {
  assert.equal(
    render("{{ .cfg | fromJson | toYaml }}", {
      cfg: '{"i":5432,"f":1.5,"e":1e21,"s":0.000001,"n":null,"t":true}',
    }),
    'e: 1e+21\nf: 1.5\ni: 5432\n"n": null\ns: 1e-06\nt: true',
  );
  assert.equal(render("{{ .y | fromYaml | toYaml }}", { y: "b: [x, y]\na: 1\n" }), "a: 1\nb:\n- x\n- true");
  assert.equal(render('{{ "multi\\nline" | toYaml }}'), "|-\n  multi\n  line");
});

void test("what go-yaml would fold or escape is refused, naming it", () => {
  const long = Array.from({ length: 20 }, (_, i) => `word${i}`).join(" ");
  assert.throws(
    () => render('{{ dict "k" .s | toYaml }}', { s: long }),
    (e: Error) =>
      e instanceof InvalidSpecError && /toYaml: a string with spaces past column 80/.test(e.message),
  );
  assert.throws(() => render('{{ dict "k" .s | toYaml }}', { s: "tab\there" }), /control characters/);
});
