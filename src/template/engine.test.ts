import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidSpecError } from "../errors.ts";
import { MAX_OUTPUT_BYTES, renderTemplates } from "./engine.ts";

const SECRET = "hunter2-SECRET";
const pem = (type: string, body: string) => `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----`;

void describe("template engine", () => {
  void test("formatting helpers", () => {
    const out = renderTemplates(
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
    const out = renderTemplates(
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
      assert.throws(() => renderTemplates({ k: source }, { user: "x" }), InvalidSpecError, source);
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
        () => renderTemplates({ "tls.key": source }, { password: `{${SECRET}: [` }),
        (err: Error) => {
          assert.ok(err instanceof InvalidSpecError);
          assert.match(err.message, /^spec\.target\.template\.data\.tls\.key: /);
          assert.ok(!err.message.includes(SECRET), err.message);
          return true;
        },
      );
    }
  });

  void test("bounded output", () => {
    const big = "x".repeat(1024 * 64);
    const source = "{{v}}".repeat(Math.ceil(MAX_OUTPUT_BYTES / big.length) + 1);
    assert.throws(() => renderTemplates({ k: source }, { v: big }), /output larger than/);
    assert.throws(() => renderTemplates({ k: "x".repeat(70_000) }, {}), /template larger than/);
  });
});
