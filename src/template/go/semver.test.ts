// Sprig's semver/semverCompare (Masterminds/semver v3 rules, from its
// documented constraint grammar) and the path functions (Go's path and
// path/filepath on Linux, from their documented lexical rules).
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { renderTemplates } from "../engine.ts";

const render = (source: string): string =>
  Buffer.from(renderTemplates({ k: source }, {}, "v2").k!).toString("utf8");
const check = (list: [string, string][]) => {
  for (const [source, expected] of list) assert.equal(render(source), expected, source);
};
const fails = (source: string, message: RegExp) =>
  assert.throws(
    () => render(source),
    (e: unknown) => e instanceof InvalidSpecError && message.test(e.message),
  );
/** semverCompare constraint version, for each version: t or f. */
const compare = (constraint: string, versions: string[]) =>
  versions.map((v) => (render(`{{ semverCompare "${constraint}" "${v}" }}`) === "true" ? "t" : "f")).join("");

void test("semver parses leniently and prints the canonical form", () => {
  check([
    ['{{ semver "v1.2.3-beta.1+build.5" }}', "1.2.3-beta.1+build.5"],
    // NewVersion coerces: a missing minor/patch is 0, a leading v is dropped by String but kept by Original.
    ['{{ semver "1" }} {{ semver "v2.5" }} {{ (semver "v2.5").Original }}', "1.0.0 2.5.0 v2.5"],
    ['{{ (semver "1.2.3-rc.1").Major }}.{{ (semver "1.2.3").Minor }}.{{ (semver "1.2.3").Patch }}', "1.2.3"],
    ['{{ (semver "1.2.3-rc.1+x").Prerelease }} {{ (semver "1.2.3-rc.1+x").Metadata }}', "rc.1 x"],
    // Leading zeros in the numbers are coerced; Go's JSON of a *Version is its String.
    ['{{ semver "01.002.0003" }} {{ semver "1.2.3" | toJson }}', '1.2.3 "1.2.3"'],
    ['{{ printf "%T" (semver "1.0.0") }}', "*semver.Version"],
  ]);
  fails('{{ semver "1.2.3.4" }}', /invalid semantic version/);
  fails('{{ semver "" }}', /invalid semantic version/);
  fails('{{ semver "1.2.3-01" }}', /version segment starts with 0/);
  fails('{{ semver "1.2.3+a..b" }}', /invalid semantic version/);
  fails('{{ (semver "1.0.0").Compare }}', /can't evaluate field Compare in type \*semver.Version/);
});

void test("semverCompare: operators, wildcards, ranges, alternatives", () => {
  const versions = ["1.2.2", "1.2.3", "1.2.9", "1.3.0", "2.0.0"];
  // [constraint, versions, expected]: t where the version satisfies the constraint.
  const table: [string, string[], string][] = [
    ["1.2.3", versions, "ftfff"],
    ["=1.2.3", versions, "ftfff"],
    ["!=1.2.3", versions, "tfttt"],
    [">1.2.3", versions, "ffttt"],
    [">=1.2.3", versions, "ftttt"],
    ["<1.2.3", versions, "tffff"],
    ["<=1.2.3", versions, "ttfff"],
    // ~: patch updates only when a minor is given; ^: same major (same minor below 1.0).
    ["~1.2.3", versions, "fttff"],
    ["~1", versions, "ttttf"],
    ["^1.2.3", versions, "ftttf"],
    ["^0.2.3", ["0.2.3", "0.2.9", "0.3.0"], "ttf"],
    ["^0.0.3", ["0.0.3", "0.0.4"], "tf"],
    // Wildcards: 1.2.x is >= 1.2.0 and < 1.3.0; * is anything that is not a pre-release.
    ["1.2.x", versions, "tttff"],
    ["*", versions, "ttttt"],
    [">1.2", versions, "ffftt"],
    ["<=1.2", versions, "tttff"],
    // AND by space or comma, OR by ||, hyphen ranges inclusive (the upper bound's missing parts are wildcards).
    [">= 1.2.3, < 1.3", versions, "fttff"],
    [">=1.2.3 <1.3", versions, "fttff"],
    ["<1.2.3 || >=2", versions, "tffft"],
    ["1.2.3 - 1.3", versions, "ftttf"],
    // Pre-releases match only constraints that name one. Identifiers compare numerically when both are
    // numbers, and a non-numeric one sorts after a numeric one: alpha.beta > alpha.1, and "2" < "alpha".
    [">1.0", ["1.1.0-beta", "1.1.0"], "ft"],
    [">1.0.0-0", ["1.1.0-beta", "1.1.0"], "tt"],
    [">=1.2.3-alpha.1", ["1.2.3-alpha.0", "1.2.3-alpha.1", "1.2.3-alpha.beta", "1.2.3-2"], "fttf"],
  ];
  for (const [constraint, list, expected] of table)
    assert.equal(compare(constraint, list), expected, constraint);
  fails('{{ semverCompare "&1" "1.0.0" }}', /improper constraint/);
  fails('{{ semverCompare "^1" "one" }}', /invalid semantic version/);
});

void test("path functions: Go's lexical rules, the os forms the same on Linux", () => {
  for (const prefix of ["", "os"]) {
    const f = (name: string) => (prefix ? prefix + name[0]!.toUpperCase() + name.slice(1) : name);
    check([
      [
        `{{ ${f("base")} "/a/b/c.tar.gz" }}|{{ ${f("base")} "a/b/" }}|{{ ${f("base")} "///" }}|{{ ${f("base")} "" }}`,
        "c.tar.gz|b|/|.",
      ],
      [
        `{{ ${f("dir")} "/a/b/c" }}|{{ ${f("dir")} "abc" }}|{{ ${f("dir")} "/abc" }}|{{ ${f("dir")} "a//b//" }}`,
        "/a/b|.|/|a/b",
      ],
      [
        `{{ ${f("clean")} "a//b/./../c/" }}|{{ ${f("clean")} "/../x" }}|{{ ${f("clean")} "../../a/.." }}|{{ ${f("clean")} "" }}`,
        "a/c|/x|../..|.",
      ],
      [
        `{{ ${f("ext")} "x/y.tar.gz" }}|{{ ${f("ext")} "x.d/y" }}|{{ ${f("ext")} ".bashrc" }}`,
        ".gz||.bashrc",
      ],
      [`{{ ${f("isAbs")} "/x" }} {{ ${f("isAbs")} "x/y" }} {{ ${f("isAbs")} "" }}`, "true false false"],
    ]);
  }
});
