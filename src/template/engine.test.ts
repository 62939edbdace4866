import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidSpecError } from "../errors.ts";
import { MAX_OUTPUT_BYTES, renderTemplates } from "./engine.ts";

const SECRET = "hunter2-SECRET";
const bytes = (values: Record<string, string | Uint8Array>): Record<string, Uint8Array> =>
  Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? new Uint8Array(Buffer.from(v)) : v]),
  );
/** renderTemplates with text values in and outputs as UTF-8 text. */
function render(templates: Record<string, string>, values: Record<string, string>): Record<string, string> {
  const out = renderTemplates(templates, bytes(values));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Buffer.from(v).toString("utf8")]));
}
/** Each output's bytes, in hex. */
function renderHex(
  templates: Record<string, string>,
  values: Record<string, string | Uint8Array>,
): Record<string, string> {
  const out = renderTemplates(templates, bytes(values));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Buffer.from(v).toString("hex")]));
}
const hex = (s: string | Uint8Array) => Buffer.from(s).toString("hex");
const pem = (type: string, body: string) => `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----`;

void describe("template engine", () => {
  void test("formatting helpers", () => {
    const out = render(
      {
        url: "postgres://{{user}}:{{password}}@db/app",
        b64: "{{b64enc password}}",
        dec: "{{b64dec encoded}}",
        json: "{{toJson (fromJson cfg)}}",
        host: '{{lookup (fromJson cfg) "host"}}',
        yaml: "{{toYaml (fromYaml doc)}}",
        trim: "[{{trim padded}}]",
        case: "{{upper user}}-{{lower user}}",
        dflt: '{{default missing "fallback"}}|{{default user "x"}}',
        join: '{{join (split list ",") ";"}}',
        each: '{{#each (split list ",")}}<{{this}}>{{/each}}',
        cert: '{{filterPEM "CERTIFICATE" bundle}}',
        count: '{{pemCount "CERTIFICATE" bundle}}',
        wrapped: '{{pemEncode "CERTIFICATE" der}}',
        noescape: "{{amp}}",
      },
      {
        user: "App",
        password: SECRET,
        encoded: Buffer.from("plain").toString("base64"),
        cfg: '{"host":"db.local","port":5432}',
        doc: "a: 1\nb: [x, y]\n",
        padded: "  v  ",
        list: "a,b,c",
        bundle: `${pem("CERTIFICATE", "AAA")}\n${pem("PRIVATE KEY", "BBB")}\n${pem("CERTIFICATE", "CCC")}\n`,
        der: "A".repeat(70),
        amp: "<&>",
      },
    );
    assert.equal(out.url, `postgres://App:${SECRET}@db/app`);
    assert.equal(out.b64, Buffer.from(SECRET).toString("base64"));
    assert.equal(out.dec, "plain");
    assert.equal(out.json, '{"host":"db.local","port":5432}');
    assert.equal(out.host, "db.local");
    assert.equal(out.yaml, "a: 1\nb:\n  - x\n  - y");
    assert.equal(out.trim, "[v]");
    assert.equal(out.case, "APP-app");
    assert.equal(out.dflt, "fallback|App");
    assert.equal(out.join, "a;b;c");
    assert.equal(out.each, "<a><b><c>");
    assert.equal(out.cert, `${pem("CERTIFICATE", "AAA")}\n${pem("CERTIFICATE", "CCC")}\n`);
    assert.equal(out.count, "2");
    assert.equal(
      out.wrapped,
      `-----BEGIN CERTIFICATE-----\n${"A".repeat(64)}\n${"A".repeat(6)}\n-----END CERTIFICATE-----\n`,
    );
    assert.equal(out.noescape, "<&>");
  });

  void test("no prototype access, no unknown helpers, no partials", () => {
    const out = render(
      {
        a: "{{constructor}}",
        b: "{{__proto__}}",
        c: '{{lookup this "constructor"}}',
        d: "{{user.constructor.name}}",
      },
      { user: "x" },
    );
    assert.deepEqual(out, { a: "", b: "", c: "", d: "" });
    for (const source of [
      "{{log user}}",
      "{{helperMissing}}",
      "{{> partial}}",
      "{{#with}}",
      "{{evil user}}",
    ]) {
      assert.throws(() => render({ k: source }, { user: "x" }), InvalidSpecError, source);
    }
  });

  void test("errors are InvalidSpec naming the key and never the value", () => {
    for (const source of [
      "{{fromJson password}}",
      "{{fromYaml password}}",
      "{{b64dec password}}",
      "{{join password}}",
      "{{#if}}",
    ]) {
      assert.throws(
        () => render({ "tls.key": source }, { password: `{${SECRET}: [` }),
        (err: Error) => {
          assert.ok(err instanceof InvalidSpecError);
          assert.match(err.message, /^spec\.target\.template\.data\.tls\.key: /);
          assert.ok(!err.message.includes(SECRET), err.message);
          return true;
        },
      );
    }
  });

  void describe("bytes, as ESO's Go templates", () => {
    const raw = new Uint8Array([0x71, 0xaa, 0xed, 0x00, 0xff, 0xc3]); // not UTF-8

    void test("a value that is not UTF-8 round-trips exactly", () => {
      assert.deepEqual(renderTemplates({ k: "{{raw}}" }, { raw }), { k: raw });
      assert.deepEqual(
        renderHex({ k: "a{{raw}}b", each: "{{#each (split raw '')}}{{this}}{{/each}}" }, { raw }),
        {
          k: `61${hex(raw)}62`,
          each: hex(raw),
        },
      );
      assert.equal(renderHex({ k: "{{b64dec (b64enc raw)}}" }, { raw }).k, hex(raw));
      assert.equal(
        renderHex({ k: '{{default missing raw}}|{{join (split raw ",") ","}}' }, { raw }).k,
        `${hex(raw)}7c${hex(raw)}`,
      );
    });

    void test("literal non-ASCII text keeps its UTF-8 bytes", () => {
      assert.deepEqual(
        renderHex(
          {
            text: "é {{v}} ✓ 🔑",
            literal: '{{default missing "é"}}',
            // Whitespace control strips spaces, not the byte 0xA0 that ends "à" (C3 A0) or NBSP (C2 A0).
            strip: "voilà {{~v~}} \u00a0",
            path: '{{lookup (fromJson json) "é"}}{{#with (fromJson json)}}{{é}}{{/with}}',
          },
          { v: "ü", json: '{"é":"ñ"}' },
        ),
        {
          text: hex("é ü ✓ 🔑"),
          literal: hex("é"),
          strip: hex("voilàü"),
          path: hex("ññ"),
        },
      );
    });

    void test("b64enc encodes the bytes, b64dec decodes to bytes", () => {
      const out = renderHex(
        { enc: "{{b64enc raw}}", dec: "{{b64dec enc}}" },
        {
          raw,
          enc: Buffer.from(raw).toString("base64"),
        },
      );
      assert.equal(out.enc, hex(Buffer.from(raw).toString("base64")));
      assert.equal(out.dec, hex(raw));
    });

    void test("upper, lower and trim work on UTF-8 characters", () => {
      assert.deepEqual(
        render(
          {
            upper: "{{upper v}}",
            lower: "{{lower (upper v)}}",
            // Go's simple case mapping: one character to one ("ß" stays, "İ" → "i").
            special: '{{upper "ß"}}{{lower "İ"}}{{lower "Σ"}}',
            trim: "[{{trim padded}}]",
          },
          { v: "é", padded: "\u00a0\u3000 à \u2003\n" },
        ),
        { upper: "É", lower: "é", special: "ßiσ", trim: "[à]" },
      );
      // Bytes that are not UTF-8 become U+FFFD under a case function (Go's strings.Map), one per byte.
      assert.equal(
        renderHex({ k: "{{upper raw}}" }, { raw: new Uint8Array([0x61, 0xaa, 0xe2, 0x82]) }).k,
        `41${"efbfbd".repeat(3)}`,
      );
      // trim takes whitespace characters only: a trailing 0xA0 byte that is not NBSP stays.
      assert.equal(
        renderHex({ k: "{{trim raw}}" }, { raw: new Uint8Array([0x20, 0xc3, 0xa0, 0x20]) }).k,
        "c3a0",
      );
    });

    void test("toJson and toYaml of parsed non-ASCII text round-trip", () => {
      const json = '{"name":"José","list":["ü","日本"],"n":1}';
      assert.deepEqual(
        render(
          {
            json: "{{toJson (fromJson json)}}",
            yaml: "{{toYaml (fromYaml (toYaml (fromJson json)))}}",
            key: "{{#each (fromJson json)}}{{@key}}={{this}};{{/each}}",
          },
          { json },
        ),
        { json, yaml: "name: José\nlist:\n  - ü\n  - 日本\nn: 1", key: "name=José;list=ü,日本;n=1;" },
      );
    });
  });

  void test("bounded output", () => {
    const big = "x".repeat(1024 * 64);
    const source = "{{v}}".repeat(Math.ceil(MAX_OUTPUT_BYTES / big.length) + 1);
    assert.throws(() => render({ k: source }, { v: big }), /output larger than/);
    assert.throws(() => render({ k: "x".repeat(70_000) }, {}), /template larger than/);
  });
});
