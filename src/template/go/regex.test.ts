// Sprig's regex functions and title, as Go's regexp and strings.Title
// behave: RE2 syntax only, UTF-8 bytes, Go's empty-match and $-expansion rules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { renderTemplates } from "../engine.ts";

const render = (source: string): string =>
  Buffer.from(renderTemplates({ k: source }, {}, "v2").k ?? new Uint8Array()).toString("utf8");
const fails = (source: string, message: RegExp) =>
  assert.throws(
    () => render(source),
    (e: Error) => e instanceof InvalidSpecError && message.test(e.message),
    source,
  );

void test("regexMatch, regexFind, regexFindAll (n limits, -1 all)", () => {
  assert.equal(render(`{{ regexMatch "^[a-z]+@[a-z.]+$" "ops@acme.io" }}`), "true");
  assert.equal(render('{{ regexMatch `^\\d+$` "12a" }}'), "false");
  assert.equal(render(`{{ regexFind "[0-9]+" "abc123def456" }}`), "123");
  assert.equal(render(`{{ regexFind "z" "abc" }}`), "");
  assert.equal(render(`{{ regexFindAll "a{2}" "aaaaaa" -1 }}`), "[aa aa aa]");
  assert.equal(render(`{{ regexFindAll "a{2}" "aaaaaa" 2 }}`), "[aa aa]");
  // Go drops an empty match right after a previous match: "", "b", "" (not a fourth).
  assert.equal(render(`{{ regexFindAll "b*" "abc" -1 | len }}`), "3");
  assert.equal(render(`{{ regexFindAll "z" "abc" -1 }}`), "[]");
});

void test("regexReplaceAll expands $1, ${1} and ${name}; $1W names a group 1W", () => {
  assert.equal(render('{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}'), "-W-xxW-");
  assert.equal(render(`{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}`), "---");
  assert.equal(render(`{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$$1" }}`), "-$1-$1-");
  assert.equal(
    render('{{ regexReplaceAll `(?P<first>\\w+) (?P<last>\\w+)` "Ada Lovelace" "${last}, ${first}" }}'),
    "Lovelace, Ada",
  );
  assert.equal(render(`{{ regexReplaceAll "x*" "abc" "-" }}`), "-a-b-c-");
  assert.equal(render('{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}'), "-${1}-${1}-");
});

void test("regexSplit as Go's Split, and regexQuoteMeta", () => {
  assert.equal(render(`{{ regexSplit "z+" "pizza" -1 }}`), "[pi a]");
  assert.equal(render(`{{ regexSplit "z+" "pizza" 1 }}`), "[pizza]");
  assert.equal(render(`{{ regexSplit "a*" "abaabaccadaaae" 5 | toJson }}`), '["","b","b","c","cadaaae"]');
  assert.equal(render(`{{ regexSplit "z+" "" -1 | len }}`), "1");
  assert.equal(render(`{{ regexQuoteMeta "1.5-2.0?" }}`), "1\\.5-2\\.0\\?");
});

void test("UTF-8 runes, flags and Perl classes as RE2 reads them", () => {
  assert.equal(render(`{{ regexFind "." "é!" }}`), "é");
  assert.equal(render(`{{ regexFindAll "(?i)ab" "AB ab aB" -1 }}`), "[AB ab aB]");
  assert.equal(render('{{ regexReplaceAll `\\bcat\\b` "cat concat cat" "dog" }}'), "dog concat dog");
});

void test("what RE2 rejects is an error naming the construct, never JavaScript's reading", () => {
  fails(`{{ mustRegexMatch "(?=a)" "a" }}`, /invalid or unsupported Perl syntax: `\(\?=`/);
  fails('{{ mustRegexMatch `(a)\\1` "aa" }}', /invalid escape sequence: `\\1`/);
  fails(
    `{{ regexMatch "(" "a" }}`,
    /error calling regexMatch: regexp: Compile\(`\(`\): error parsing regexp: missing closing \)/,
  );
  // A pattern that backtracks for ages in JavaScript is linear in RE2.
  assert.equal(render(`{{ regexMatch "^(a+)+$" "${"a".repeat(40)}!" }}`), "false");
});

void test("title as Go's strings.Title", () => {
  assert.equal(render(`{{ "hello world" | title }}`), "Hello World");
  assert.equal(render(`{{ "hello-world_foo bar.baz" | title }}`), "Hello-World_foo Bar.Baz");
  assert.equal(render(`{{ "ǆemal élan" | title }}`), "ǅemal Élan");
});
