import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { MAX_ITERATIONS, MAX_OUTPUT_BYTES, renderTemplates } from "../engine.ts";

const SECRET = "hunter2-SECRET";
const DATA: Record<string, string> = {
  user: "app",
  password: SECRET,
  empty: "",
  "tls.crt": "CRT",
  cfg: '{"hosts":["a","b"],"port":5432,"big":1234567,"ratio":0.25,"on":true,"none":null,"m":{"z":1,"a":"x"}}',
  csv: "a,b,c",
  padded: "  v \n",
  yaml: "a: 1\nb: [x, y]\nc: yes\nd: 2024-01-01\n",
};

const bytes = (values: Record<string, string | Uint8Array>): Record<string, Uint8Array> =>
  Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? new Uint8Array(Buffer.from(v)) : v]),
  );
function render(source: string, data: Record<string, string | Uint8Array> = DATA): string {
  return Buffer.from(renderTemplates({ k: source }, bytes(data), "v2").k!).toString("utf8");
}
function renderHex(source: string, data: Record<string, string | Uint8Array>): string {
  return Buffer.from(renderTemplates({ k: source }, bytes(data), "v2").k!).toString("hex");
}
function fails(source: string, message: RegExp, data: Record<string, string> = DATA): void {
  assert.throws(
    () => render(source, data),
    (e: unknown) => {
      assert.ok(e instanceof InvalidSpecError, `${source}: ${String(e)}`);
      assert.match(e.message, /^spec\.target\.template\.data\.k: /);
      assert.match(e.message, message, source);
      assert.ok(!e.message.includes(SECRET), `${source}: the error shows a value`);
      return true;
    },
  );
}
/** Each [template, expected output] renders with DATA. */
function cases(list: [string, string][]): void {
  for (const [source, expected] of list) assert.equal(render(source), expected, source);
}

void describe("Go templates (engineVersion v2)", () => {
  void test("actions, fields, literals and comments", () => {
    cases([
      ["plain text", "plain text"],
      ["{{ .user }}", "app"],
      ["{{.user}}:{{.password}}", `app:${SECRET}`],
      ['{{ index . "tls.crt" }}', "CRT"],
      [
        '{{ "lit" }} {{ `raw\\n` }} {{ 42 }} {{ -7 }} {{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 1_000 }}',
        "lit raw\\n 42 -7 31 15 15 1000",
      ],
      ["{{ 1.5 }} {{ 1e3 }} {{ 'a' }} {{ true }} {{ false }}", "1.5 1000 97 true false"],
      ['{{ "tab\\there" }}|{{ "\\u00e9\\x41\\101" }}', "tab\there|éAA"],
      ["a{{/* a comment */}}b", "ab"],
      ["a {{- /* trimmed */ -}} b", "ab"],
      ["{{ . | len }}", String(Object.keys(DATA).length)],
      ["{{ .empty }}|", "|"],
      ["{{ $ | len }}", String(Object.keys(DATA).length)],
      ["{{ (fromJson .cfg).none }}", "<no value>"],
      ["{{ print nil }}", "<nil>"],
      ["{{ (fromJson .cfg).hosts }} {{ (fromJson .cfg).m }}", "[a b] map[a:x z:1]"],
      [
        "{{ (fromJson .cfg).port }} {{ (fromJson .cfg).big }} {{ (fromJson .cfg).ratio }}",
        "5432 1.234567e+06 0.25",
      ],
      ["{{ (fromJson .cfg).m.a }}", "x"],
      ["{{ ((fromJson .cfg).m).z }}", "1"],
    ]);
  });

  void test("whitespace trimming", () => {
    cases([
      ["a  \n\t {{- .user }}", "aapp"],
      ["{{ .user -}} \n\n b", "appb"],
      ["x\n{{- if true -}}\n  y\n{{- end -}}\nz", "xyz"],
      ["{{- .user -}}", "app"],
      ["a {{-3}} b", "a -3 b"], // "{{-3" is a number, not a trim marker
      ["a {{ 3 -}} b", "a 3b"],
      ["[ {{- 1 }} ]", "[1 ]"],
    ]);
  });

  void test("pipelines and parenthesised arguments", () => {
    cases([
      ["{{ .password | b64enc }}", Buffer.from(SECRET).toString("base64")],
      ["{{ .password | b64enc | b64dec }}", SECRET],
      ['{{ .user | printf "%s-%s" "x" }}', "x-app"],
      ['{{ printf "%s:%s" .user .password }}', `app:${SECRET}`],
      ["{{ upper (lower .user) | quote }}", '"APP"'],
      ['{{ "a" | printf "%s%s" "b" | printf "<%s>" }}', "<ba>"],
    ]);
  });

  void test("variables: declaration, assignment, scope", () => {
    cases([
      ["{{ $u := .user }}{{ $u }}", "app"],
      ["{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"],
      ["{{ $x := 1 }}{{ if true }}{{ $x = 3 }}{{ end }}{{ $x }}", "3"],
      ["{{ $x := 1 }}{{ if true }}{{ $x := 5 }}{{ $x }}{{ end }}{{ $x }}", "51"],
      ["{{ range $i, $e := list 1 2 }}{{ $.user }}{{ end }}", "appapp"],
      ["{{ $c := fromJson .cfg }}{{ $c.m.a }}", "x"],
      ["{{ with $h := (fromJson .cfg).hosts }}{{ index $h 1 }}{{ end }}", "b"],
    ]);
  });

  void test("if, else if, else, with, else with", () => {
    cases([
      ['{{ if eq .user "app" }}yes{{ else }}no{{ end }}', "yes"],
      ["{{ if .empty }}yes{{ else }}no{{ end }}", "no"],
      ['{{ if eq .user "x" }}1{{ else if eq .user "app" }}2{{ else }}3{{ end }}', "2"],
      ["{{ if false }}1{{ else if false }}2{{ else if true }}3{{ end }}", "3"],
      ["{{ with .user }}{{ . }}{{ end }}", "app"],
      ["{{ with .empty }}x{{ else }}none{{ end }}", "none"],
      ["{{ with .empty }}x{{ else with .user }}{{ . }}{{ end }}", "app"],
      ["{{ if and .user .password }}both{{ end }}", "both"],
      ["{{ or .empty .user }} {{ and .user .empty }}|{{ and 1 2 }}", "app |2"],
      ["{{ if not .empty }}t{{ end }}", "t"],
      ["{{ if (fromJson .cfg).none }}t{{ else }}f{{ end }}", "f"],
      [
        "{{ if list }}t{{ else }}f{{ end }} {{ if dict }}t{{ else }}f{{ end }} {{ if 0 }}t{{ else }}f{{ end }}",
        "f f f",
      ],
      // and/or stop at the first deciding argument: the failing call is never made.
      ['{{ or .user (index 1 "x") }} {{ and .empty (index 1 "x") }}|', "app |"],
    ]);
  });

  void test("range over lists, maps (sorted keys), ints; else, break, continue", () => {
    cases([
      ["{{ range (fromJson .cfg).hosts }}<{{ . }}>{{ end }}", "<a><b>"],
      ["{{ range $i, $h := (fromJson .cfg).hosts }}{{ $i }}={{ $h }};{{ end }}", "0=a;1=b;"],
      ["{{ range $k, $v := (fromJson .cfg).m }}{{ $k }}:{{ $v }} {{ end }}", "a:x z:1 "],
      ["{{ range $k, $v := . }}{{ $k }},{{ end }}", "cfg,csv,empty,padded,password,tls.crt,user,yaml,"],
      ['{{ range $v := splitList "," .csv }}{{ $v }}{{ end }}', "abc"],
      ["{{ range 3 }}{{ . }}{{ end }}", "012"],
      ["{{ range list }}x{{ else }}empty{{ end }}", "empty"],
      ["{{ range (fromJson .cfg).none }}x{{ else }}nil{{ end }}", "nil"],
      ["{{ range list 1 2 3 4 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}", "12"],
      ["{{ range list 1 2 3 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", "13"],
      [
        "{{ range $x := list 1 2 }}{{ range $y := list 3 4 }}{{ $x }}{{ $y }} {{ end }}{{ end }}",
        "13 14 23 24 ",
      ],
      ['{{ range $k, $v := split "," .csv }}{{ $k }}={{ $v }} {{ end }}', "_0=a _1=b _2=c "],
    ]);
  });

  void test("builtins: len, index, print, println, comparisons, escapers", () => {
    cases([
      [
        "{{ len .password }} {{ len (fromJson .cfg).hosts }} {{ len (fromJson .cfg).m }}",
        `${SECRET.length} 2 2`,
      ],
      ['{{ index (fromJson .cfg).hosts 1 }} {{ index (fromJson .cfg) "m" "a" }}', "b x"],
      ['{{ index . "nope" }}|{{ index (fromJson .cfg) "nope" }}', "|<no value>"],
      ["{{ index .user 0 }}", "97"],
      ['{{ print "a" 1 2 "b" "c" 3.5 }}', "a1 2bc3.5"],
      ['{{ println "a" 1 }}', "a 1\n"],
      [
        '{{ eq 1 1 }} {{ eq "a" "b" "a" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}',
        "true true true true true true false",
      ],
      [
        "{{ eq (fromJson .cfg).port 5432.0 }} {{ eq (fromJson .cfg).none (fromJson .cfg).none }}",
        "true true",
      ],
      ['{{ html "<a href=\'x\'>&\\"" }}', "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"],
      ['{{ urlquery "a b&c=d/é" }}', "a+b%26c%3Dd%2F%C3%A9"],
      ['{{ js "it\'s <b>\\"x\\"\\n" }}', 'it\\\'s \\u003Cb\\u003E\\"x\\"\\u000A'],
    ]);
  });

  void test("printf: Go's verbs, flags, widths and error forms", () => {
    cases([
      [
        '{{ printf "%s|%v|%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%U" "s" 1 42 42 42 42 42 255 255 8 5 65 65 }}',
        "s|1|42|   42|42   |00042|+42|ff|FF|10|101|A|U+0041",
      ],
      [
        '{{ printf "%q|%q|%x|% x|%#x|%10s|%-4s|%.2s" "a\\"b\\n" 65 "hi" "hi" 255 "right" "l" "abc" }}',
        '"a\\"b\\n"|\'A\'|6869|68 69|0xff|     right|l   |ab',
      ],
      [
        '{{ printf "%f|%.2f|%.0f|%.0f|%e|%E|%g|%g|%G|%v|%8.3f|%08.3f|%+.1f" 3.14159 2.675 0.5 1.5 1234.5678 0.000012 100000.0 1000000.0 1e-7 2.5 3.14159 -3.14159 2.25 }}',
        "3.141590|2.67|0|2|1.234568e+03|1.200000E-05|100000|1e+06|1E-07|2.5|   3.142|-003.142|+2.2",
      ],
      [
        '{{ printf "%t|%v|%T|%T|%T|%T|%T" true false "s" 1 1.5 (list) (dict) }}',
        "true|false|string|int|float64|[]interface {}|map[string]interface {}",
      ],
      [
        '{{ printf "%d" "x" }}|{{ printf "%s" 5 }}|{{ printf "%s %s" "a" }}|{{ printf "%s" "a" "b" }}',
        "%!d(string=x)|%!s(int=5)|a %!s(MISSING)|a%!(EXTRA string=b)",
      ],
      [
        '{{ printf "%d" (fromJson .cfg).port }}|{{ printf "%v" (fromJson .cfg).port }}|{{ printf "%.0f" (fromJson .cfg).port }}',
        "%!d(float64=5432)|5432|5432",
      ],
      [
        '{{ printf "%v|%s|%q" (fromJson .cfg).hosts (fromJson .cfg).hosts (fromJson .cfg).hosts }}',
        '[a b]|[a b]|["a" "b"]',
      ],
      [
        '{{ printf "%v" (fromJson .cfg).m }}|{{ printf "%d%%" 50 }}|{{ printf "%*d" 4 7 }}|{{ printf "%" }}',
        "map[a:x z:1]|50%|   7|%!(NOVERB)",
      ],
      [
        '{{ printf "%v|%s" nil nil }}|{{ printf "%6.2v" 3.14159 }}|{{ printf "%x" -255 }}',
        "<nil>|%!s(<nil>)|   3.1|-ff",
      ],
    ]);
  });

  void test("Sprig strings", () => {
    cases([
      ['{{ upper .user }} {{ lower "ÀB" }} {{ trim .padded }}|', "APP àb v|"],
      ['{{ trimAll "-" "--a-b--" }} {{ trimPrefix "ab" "abc" }} {{ trimSuffix "bc" "abc" }}', "a-b c a"],
      [
        '{{ trunc 3 "abcdef" }} {{ trunc -2 "abcdef" }} {{ substr 1 3 "abcdef" }} {{ repeat 3 "ab" }}',
        "abc ef bc ababab",
      ],
      [
        '{{ nospace " a b\\tc " }} {{ contains "ell" "hello" }} {{ hasPrefix "he" "hello" }} {{ hasSuffix "x" "hello" }}',
        "abc true true false",
      ],
      [
        '{{ quote "a" 1 nil "b\\"" }} {{ squote "a" 2 }} {{ cat "a" 1 nil "b" }}',
        '"a" "1" "b\\"" \'a\' \'2\' a 1 b',
      ],
      ['{{ indent 2 "a\\nb" }}|{{ nindent 2 "a" }}', "  a\n  b|\n  a"],
      [
        '{{ replace "." "-" "a.b.c" }} {{ replace "" "-" "ab" }} {{ plural "one" "many" 2 }}',
        "a-b-c -a-b- many",
      ],
      ['{{ sha256sum "abc" }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
      ['{{ sha1sum "abc" }} {{ adler32sum "abc" }}', "a9993e364706816aba3e25717850c26c9cd0d89d 38600999"],
      ['{{ toString 5 }} {{ toString 1.5 }} {{ toString "s" }} {{ toString (list 1 "a") }}', "5 1.5 s [1 a]"],
      [
        '{{ join "-" (splitList "," .csv) }} {{ (split "," .csv)._1 }} {{ (splitn "," 2 .csv)._1 }}',
        "a-b-c b b,c",
      ],
      ['{{ join "," (list 1 "a" nil 2.5) }} {{ toStrings (list 1 2) }}', "1,a,2.5 [1 2]"],
      ['{{ "aGVsbG8=" | b64dec }} {{ "!!" | b64dec }}', "hello illegal base64 data at input byte 0"],
    ]);
  });

  void test("Sprig numbers, defaults, JSON, YAML, dicts and lists", () => {
    cases([
      [
        '{{ atoi "42" }} {{ atoi "x" }} {{ int "0x10" }} {{ int 3.9 }} {{ int64 "7" }} {{ float64 "2.5" }}',
        "42 0 16 3 7 2.5",
      ],
      [
        "{{ add 1 2 3 }} {{ add1 1 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 3 }} {{ max 1 9 3 }} {{ min 4 2 }}",
        "6 2 -2 24 3 1 9 2",
      ],
      ["{{ add (fromJson .cfg).port 1 }} {{ until 3 }}", "5433 [0 1 2]"],
      [
        '{{ default "d" .empty }} {{ default "d" .user }} {{ .empty | default "d" }} {{ default "d" 0 }} {{ default "d" false }}',
        "d app d d d",
      ],
      [
        '{{ empty "" }} {{ empty list }} {{ empty 1 }} {{ coalesce "" .empty "c" }} {{ ternary "y" "n" true }}',
        "true true false c y",
      ],
      ['{{ all 1 "a" }} {{ any 0 "" }} {{ compact (list 1 0 "" "a") }}', "true false [1 a]"],
      [
        "{{ toJson (fromJson .cfg) }}",
        '{"big":1234567,"hosts":["a","b"],"m":{"a":"x","z":1},"none":null,"on":true,"port":5432,"ratio":0.25}',
      ],
      [
        '{{ toJson "<&>\\u2028" }} {{ toRawJson "<&>" }} {{ toJson 1.5 }} {{ toJson 1e21 }} {{ toJson 1e-7 }}',
        '"\\u003c\\u0026\\u003e\\u2028" "<&>" 1.5 1e+21 1e-7',
      ],
      [
        '{{ toPrettyJson (dict "a" (list 1 2) "b" (dict)) }}',
        '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}',
      ],
      ['{{ fromJson "not json" }}|{{ (fromJson "[1,2]") }}', "<no value>|[1 2]"],
      ["{{ $y := fromYaml .yaml }}{{ $y.a }} {{ $y.b }} {{ $y.c }} {{ $y.d }}", "1 [x true] true 2024-01-01"], // YAML 1.1, as go-yaml v2: y is true
      [
        '{{ $d := dict "b" 2 "a" 1 }}{{ $d }} {{ get $d "a" }} {{ get $d "x" }}| {{ hasKey $d "b" }} {{ keys $d }} {{ values $d }}',
        "map[a:1 b:2] 1 | true [a b] [1 2]",
      ],
      [
        '{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }} {{ unset $d "a" }} {{ pick (dict "a" 1 "b" 2) "a" }} {{ omit (dict "a" 1 "b" 2) "a" }}',
        "map[a:1 b:2] map[b:2] map[a:1] map[b:2]",
      ],
      [
        '{{ pluck "a" (dict "a" 1) (dict "a" 2) (dict "b" 3) }} {{ dig "x" "y" "dflt" (fromJson "{\\"x\\":{\\"y\\":7}}") }} {{ dig "x" "q" "dflt" (dict) }}',
        "[1 2] 7 dflt",
      ],
      [
        "{{ first (list 1 2 3) }} {{ last (list 1 2 3) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}",
        "1 3 [2 3] [1 2]",
      ],
      [
        "{{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ reverse (list 1 2 3) }} {{ uniq (list 1 1 2) }} {{ without (list 1 2 3) 2 }}",
        "[1 2] [0 1] [3 2 1] [1 2] [1 3]",
      ],
      [
        '{{ has 2 (list 1 2) }} {{ concat (list 1) (list 2 3) }} {{ sortAlpha (list "b" "a" "c") }} {{ tuple 1 "a" }}',
        "true [1 2 3] [a b c] [1 a]",
      ],
    ]);
  });

  void test("ESO functions: filterPEM, jwkPublicKeyPem, jwkPrivateKeyPem, certSANs", () => {
    const block = (type: string, body: string) => `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`;
    const long = Buffer.alloc(60, 7).toString("base64"); // 80 chars: re-wrapped at 64 as Go's pem.Encode
    const bundle = `junk\n${block("CERTIFICATE", "QUJD")}${block("PRIVATE KEY", "REVG")}${block("CERTIFICATE", long)}`;
    const out = render('{{ filterPEM "CERTIFICATE" .bundle }}', { bundle });
    assert.equal(
      out,
      block("CERTIFICATE", "QUJD") + block("CERTIFICATE", `${long.slice(0, 64)}\n${long.slice(64)}`),
    );
    assert.equal(render('{{ .bundle | filterPEM "private key" }}', { bundle }), block("PRIVATE KEY", "REVG"));
    assert.equal(render('{{ filterPEM "X" .bundle }}|', { bundle }), "|");
    fails('{{ filterPEM "CERTIFICATE" .v }}', /error calling filterPEM: error filtering pem: found junk/, {
      v: "no pem",
    });

    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwkPriv = JSON.stringify(privateKey.export({ format: "jwk" }));
    const jwkPub = JSON.stringify(publicKey.export({ format: "jwk" }));
    assert.equal(
      render("{{ jwkPublicKeyPem .k }}", { k: jwkPub }),
      publicKey.export({ type: "spki", format: "pem" }).toString(),
    );
    assert.equal(
      render("{{ jwkPrivateKeyPem .k }}", { k: jwkPriv }),
      privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    );
    fails("{{ jwkPublicKeyPem .k }}", /error calling jwkPublicKeyPem/, { k: jwkPriv });
    fails("{{ jwkPrivateKeyPem .k }}", /error calling jwkPrivateKeyPem/, { k: "{" });
  });

  void test("bytes: values that are not UTF-8 pass through; text functions decode as Go", () => {
    const raw = new Uint8Array([0xff, 0x00, 0xc3, 0xa9, 0x80]);
    assert.equal(renderHex("{{ .v }}", { v: raw }), "ff00c3a980");
    assert.equal(renderHex("é{{ .v }}", { v: raw }), "c3a9ff00c3a980");
    assert.equal(renderHex("{{ .v | b64enc | b64dec }}", { v: raw }), "ff00c3a980");
    assert.equal(renderHex('{{ printf "%x" .v }}', { v: raw }), Buffer.from("ff00c3a980").toString("hex"));
    assert.equal(render('{{ printf "%q" .v }}', { v: raw }), '"\\xff\\x00é\\x80"');
    assert.equal(render("{{ toJson .v }}", { v: raw }), '"\\ufffd\\u0000é\\ufffd"');
    assert.equal(render("{{ len .v }}", { v: raw }), "5");
    assert.equal(render('{{ printf "%-4s|" .v }}', { v: "é" }), "é   |");
    assert.equal(render('{{ upper "é" }}'), "É");
  });

  void test("Go's parse errors name the construct and its line and column", () => {
    fails("{{ .user ", /line 1, column 1: unclosed action/);
    fails("a\n{{ if .user }}x", /line 2, column .*unexpected EOF/);
    fails("{{ end }}", /unexpected \{\{end\}\}/);
    fails("{{ else }}", /unexpected \{\{else\}\}/);
    fails("{{ nope .user }}", /line 1, column 4: function "nope" not defined/);
    fails("{{ $x }}", /undefined variable "\$x"/);
    fails("{{ ( .user }}", /unclosed left paren/);
    fails("{{ .user ) }}", /unexpected right paren/);
    fails("{{ /* c */ }}", /unexpected <\/> in command/);
    fails("{{/* c */ x }}", /comment ends before closing delimiter/);
    fails("{{/* c ", /unclosed comment/);
    fails('{{ "abc }}', /unterminated quoted string/);
    fails("{{ `abc }}", /unterminated raw quoted string/);
    fails("{{ 12ab }}", /bad number syntax/);
    fails("{{ 1i }}", /complex numbers are not supported/);
    fails("{{ .user | 3 }}", /non executable command in pipeline stage 2/);
    fails("{{ break }}", /\{\{break\}\} outside \{\{range\}\}/);
    fails("{{ if }}{{ end }}", /missing value for if/);
    fails("{{ range $a, $b, $c := . }}{{ end }}", /too many declarations in range/);
    fails("{{ with $a, $b := . }}{{ end }}", /too many declarations in with/);
    fails("{{ 1.x }}", /bad number syntax/);
    fails('{{ "a".b }}', /unexpected \. after term/);
    fails("{{ .user \u00e9 }}", /unrecognized character in action/);
  });

  void test("refused constructs and functions say so", () => {
    fails('{{ define "x" }}y{{ end }}', /line 1, column 4: \{\{define\}\} is not supported/);
    fails('{{ template "x" . }}', /\{\{template\}\} is not supported/);
    fails('{{ block "x" . }}y{{ end }}', /\{\{block\}\} is not supported/);
    fails("{{ call .user }}", /function "call" is not supported/);
    fails(
      "{{ randAlphaNum 8 }}",
      /function "randAlphaNum" is not supported \(its result is random at every render\)/,
    );
    fails("{{ uuidv4 }}", /its result is random at every render/);
    fails('{{ genPrivateKey "rsa" }}', /its result is random at every render/);
    fails("{{ urlJoin .user }}", /function "urlJoin" is not supported yet/);
    fails("{{ urlParse .user }}", /function "urlParse" is not supported yet/);
    fails('{{ env "HOME" }}', /function "env" is not supported \(ESO removed it/);
    fails('{{ expandenv "$HOME" }}', /function "expandenv" is not supported \(ESO removed it/);
    fails('{{ getHostByName "example.com" }}', /function "getHostByName" is not supported \(ESO removed it/);
    fails('{{ printf "%[1]s" .user }}', /explicit argument indexes are not supported/);
    fails('{{ printf "%05s" .user }}', /the 0 flag on a string is not supported/);
    fails('{{ printf "%p" .user }}', /verb %p is not supported/);
  });

  void test("execution errors as Go reports them, without values", () => {
    fails("{{ .missing }}", /line 1, column 4: at <\.missing>: map has no entry for key "missing"/);
    fails("{{ .password.x }}", /can't evaluate field x in type string/);
    fails("{{ (fromJson .cfg).none.x }}", /nil pointer evaluating interface \{\}\.x/);
    fails("{{ (fromJson .cfg).m.nope }}", /map has no entry for key "nope"/);
    fails("{{ upper 3 }}", /at <3>: expected string; found 3/);
    fails("{{ upper (fromJson .cfg).port }}", /wrong type for value; expected string; got float64/);
    fails("{{ (fromJson .cfg).none | upper }}", /invalid value; expected string/);
    fails("{{ repeat (fromJson .cfg).port .user }}", /expected int; got float64/);
    fails("{{ upper .user .user }}", /wrong number of args for upper: want 1 got 2/);
    fails("{{ .user | upper .user }}", /wrong number of args for upper: want 1 got 2/);
    fails('{{ hasKey . "user" }}', /expected map\[string\]interface \{\}; got map\[string\]string/);
    fails("{{ index (fromJson .cfg).hosts 5 }}", /error calling index: index out of range/);
    fails("{{ index (fromJson .cfg).hosts 1.0 }}", /cannot index slice\/array with type float64/);
    fails("{{ eq .user 1 }}", /error calling eq: incompatible types for comparison/);
    fails("{{ lt true false }}", /invalid type for comparison/);
    fails("{{ div 1 0 }}", /error calling div: integer divide by zero/);
    fails("{{ nil }}", /nil is not a command/);
    fails("{{ eq .user nil }}", /cannot assign nil to reflect\.Value/);
    fails('{{ or (fromJson "x") "d" }}', /invalid value; expected reflect\.Value/);
    fails('{{ fromJson "x" | len }}', /invalid value; expected reflect\.Value/);
    fails("{{ 1 2 }}", /can't give argument to non-function 1/);
    fails("{{ .user 1 }}", /user is not a method but has arguments/);
    fails("{{ range .user }}{{ end }}", /range can't iterate over a value of type string/);
    fails("{{ range $i, $e := 3 }}{{ end }}", /can't use an int to iterate over more than one variable/);
    fails("{{ mustFromJson .user }}", /error calling mustFromJson: input is not valid JSON/);
    fails("{{ fromYaml .csv }}", /error calling fromYaml: input is not a YAML mapping/);
    assert.equal(render("{{ substr 2 99 .user }}"), "p"); // an end past the length: the rest, as Sprig
    fails("{{ substr 99 100 .user }}", /error calling substr: slice bounds out of range/);
  });

  void test("bounded: iterations, output, built values", () => {
    fails("{{ range 200000 }}{{ end }}", new RegExp(`more than ${MAX_ITERATIONS} iterations`));
    fails("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", /iterations/);
    fails('{{ range 1000 }}{{ repeat 10000 "x" }}{{ end }}', /output larger than|functions built more than/);
    fails(
      '{{ $s := "xx" }}{{ range 40 }}{{ $s = printf "%s%s" $s $s }}{{ end }}',
      /larger than|built more than/,
    );
    fails('{{ repeat 100000000 "x" }}', /result too large/);
    fails('{{ printf "%1000000000d" 1 }}', /width too large/);
    assert.ok(MAX_OUTPUT_BYTES > 0);
  });

  void test("several keys, and v1 stays the default", () => {
    const out = renderTemplates(
      { a: "{{ .user }}", b: '{{ printf "%s@%s" .user "db" }}' },
      bytes(DATA),
      "v2",
    );
    assert.deepEqual(
      Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Buffer.from(v).toString()])),
      { a: "app", b: "app@db" },
    );
    assert.equal(Buffer.from(renderTemplates({ k: "{{user}}" }, bytes(DATA)).k!).toString(), "app");
    assert.throws(() => renderTemplates({ k: "{{ .user }}" }, bytes(DATA)), InvalidSpecError); // Handlebars
  });
});
