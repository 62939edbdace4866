import assert from "node:assert/strict";
import { test } from "node:test";
import { compileJsonPath } from "./kube-jsonpath.ts";

const shop = {
  name: "shop",
  ports: [8443, 9000, 9100],
  items: [
    { id: "a", kind: "db", size: 2, tags: { tier: "gold" } },
    { id: "b", kind: "cache", size: 5 },
    { id: "c", kind: "db", size: 7, extra: null },
  ],
  "with.dot": "d",
};
const run = (template: string, data: unknown = shop, floats = false) =>
  compileJsonPath(template).execute(data, floats);

void test("fields, indexes, slices, wildcards, unions", () => {
  assert.equal(run("{.name}"), "shop");
  assert.equal(run("{$.name}"), "shop");
  assert.equal(run("{.ports[0]}"), "8443");
  assert.equal(run("{.ports[-1]}"), "9100");
  assert.equal(run("{.ports[0:2]}"), "8443 9000");
  assert.equal(run("{.ports[::2]}"), "8443 9100");
  assert.equal(run("{.ports[0:-1:1]}"), "8443 9000");
  assert.equal(run("{.ports[*]}"), "8443 9000 9100");
  assert.equal(run("{.items[*].id}"), "a b c");
  assert.equal(run("{.items[0,2].id}"), "a c");
  assert.equal(run("{.items[0]['id','kind']}"), "a db");
  assert.equal(run("{.with\\.dot}"), "d");
  assert.equal(run("{.items[0].tags}"), '{"tier":"gold"}');
  assert.equal(run("{.items[2].extra}"), "<nil>");
  assert.equal(run("{}", { b: 1, a: [true] }), '{"a":[true],"b":1}');
});

void test("recursive descent and filters", () => {
  assert.equal(run("{..tier}"), "gold");
  assert.equal(run("{..id}"), "a b c");
  assert.equal(run('{.items[?(@.kind=="db")].id}'), "a c");
  assert.equal(run("{.items[?(@.kind!='db')].id}"), "b");
  assert.equal(run("{.items[?(@.size>3)].id}"), "b c");
  assert.equal(run("{.items[?(@.size<=2)].id}"), "a");
  assert.equal(run("{.items[?(@.tags)].id}"), "a");
});

void test("templates: literal text, quoted literals, range/end", () => {
  assert.equal(run("name={.name}!"), "name=shop!");
  assert.equal(run("{range .items[*]}{.id}:{.size};{end}"), "a:2;b:5;c:7;");
  assert.equal(
    run(`{'['}{range .ports[0:-1]}{'{"p":'}{@}{'},'}{end}{'{"p":'}{.ports[-1]}{'}]'}`),
    '[{"p":8443},{"p":9000},{"p":9100}]',
  );
  assert.equal(run('{"a\\tb"}'), "a\tb");
  assert.equal(run("{range .items[*]}[{.id}]{end} after"), "[a][b][c] after");
});

void test("numbers from JSON text print as Go float64s", () => {
  assert.equal(run("{.n}", { n: 1000000 }, true), "1e+06");
  assert.equal(run("{.n}", { n: 123456 }, true), "123456");
  assert.equal(run("{.n}", { n: 0.00001 }, true), "1e-05");
  assert.equal(run("{.n}", { n: 1000000 }, false), "1000000");
});

void test("errors: missing fields, bad indexes, malformed templates", () => {
  assert.throws(() => run("{.missing}"), /^JsonPathError: missing is not found$/);
  assert.throws(() => run("{.ports[7]}"), /array index out of bounds: index 7, length 3/);
  assert.throws(() => run("{.name[0]}"), /a string is not an array/);
  assert.throws(() => run("{.ports[::0]}"), /step must be > 0/);
  assert.throws(() => compileJsonPath("{.a"), /unclosed action/);
  assert.throws(() => compileJsonPath("{end}"), /not in range, nothing to end/);
  assert.throws(() => compileJsonPath("{!x}"), /unrecognized character in action/);
  assert.throws(() => compileJsonPath("{.a[x]}"), /invalid array index x/);
  assert.throws(() => compileJsonPath("{foo}"), /unrecognized identifier foo/);
});
