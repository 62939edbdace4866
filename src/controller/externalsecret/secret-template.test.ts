/**
 * target.template applied as ESO applies it: mergePolicy, templateFrom
 * (ConfigMap, Secret, literal; Values and KeysAndValues; Data, Labels and
 * Annotations), its order and precedence, valuesDecodingStrategy, v2
 * templated metadata, and errors that name the field, never a value.
 * The ConfigMaps and Secrets come from an in-memory TemplateSources.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExternalSecretTarget } from "../../api/v1alpha1.ts";
import { InvalidSpecError, SecretNotFoundError } from "../../errors.ts";
import { applyTemplate, type TemplateSources } from "./secret-template.ts";

type Template = NonNullable<ExternalSecretTarget["template"]>;

const enc = (s: string) => new TextEncoder().encode(s);
const text = (data: Record<string, Uint8Array>) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("utf8")]));

const values = { username: enc("app"), password: enc("pa55-w0rd") };

const sources = (
  configMaps: Record<string, Record<string, string>> = {},
  secrets: Record<string, Record<string, string>> = {},
): TemplateSources & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    configMap: (name) => {
      asked.push(`ConfigMap/${name}`);
      return Promise.resolve(configMaps[name]);
    },
    secret: (name) => {
      asked.push(`Secret/${name}`);
      const s = secrets[name];
      return Promise.resolve(s && Object.fromEntries(Object.entries(s).map(([k, v]) => [k, enc(v)])));
    },
  };
};

const apply = (template: Template | undefined, src = sources()) => applyTemplate(template, values, src);

void describe("applyTemplate", () => {
  void test("no template: the values read; a template with neither data nor templateFrom keeps them too", async () => {
    assert.deepEqual(text((await apply(undefined)).data), { username: "app", password: "pa55-w0rd" });
    const typed = await apply({ type: "kubernetes.io/basic-auth", metadata: { labels: { a: "b" } } });
    assert.deepEqual(text(typed.data), { username: "app", password: "pa55-w0rd" });
    assert.deepEqual(typed.labels, { a: "b" });
  });

  void test("mergePolicy: Replace writes only the templated keys; Merge keeps the values read beside them", async () => {
    const data = { password: "{{ .password | upper }}", dsn: "db://{{ .username }}" };
    const replace = await apply({ engineVersion: "v2", data });
    assert.deepEqual(text(replace.data), { password: "PA55-W0RD", dsn: "db://app" });
    const merge = await apply({ engineVersion: "v2", mergePolicy: "Merge", data });
    assert.deepEqual(text(merge.data), { username: "app", password: "PA55-W0RD", dsn: "db://app" });
  });

  void test("templateFrom: ConfigMap and Secret keys as Values, of this namespace, read directly", async () => {
    const src = sources(
      { tpl: { "config.yaml": "user: {{ .username }}\n" } },
      { tpls: { "pass.txt": "{{ .password }}!" } },
    );
    const out = await apply(
      {
        engineVersion: "v2",
        templateFrom: [
          { configMap: { name: "tpl", items: [{ key: "config.yaml" }] } },
          { secret: { name: "tpls", items: [{ key: "pass.txt", templateAs: "Values" }] } },
        ],
      },
      src,
    );
    assert.deepEqual(text(out.data), { "config.yaml": "user: app\n", "pass.txt": "pa55-w0rd!" });
    assert.deepEqual(src.asked, ["ConfigMap/tpl", "Secret/tpls"]);
  });

  void test("KeysAndValues and literal render a YAML map, each entry a key; later keys replace earlier, data wins", async () => {
    const src = sources({ tpl: { keys: "a: '{{ .username }}'\nb: x\n" } });
    const out = await apply(
      {
        engineVersion: "v2",
        templateFrom: [
          { configMap: { name: "tpl", items: [{ key: "keys", templateAs: "KeysAndValues" }] } },
          { literal: "b: from-literal\nc: '{{ .password }}'\nempty:\n" },
        ],
        data: { c: "from-data" },
      },
      src,
    );
    assert.deepEqual(text(out.data), { a: "app", b: "from-literal", c: "from-data", empty: "" });
  });

  void test("target Labels and Annotations; with v2 the metadata maps are templates too", async () => {
    const out = await apply({
      engineVersion: "v2",
      metadata: { labels: { user: "{{ .username }}" }, annotations: { fixed: "yes" } },
      templateFrom: [
        { literal: "team: '{{ .username }}-team'", target: "Labels" },
        { literal: "note: 'for {{ .username }}'", target: "Annotations" },
      ],
      data: { password: "{{ .password }}" },
    });
    assert.deepEqual(out.labels, { user: "app", team: "app-team" });
    assert.deepEqual(out.annotations, { fixed: "yes", note: "for app" });
    assert.deepEqual(text(out.data), { password: "pa55-w0rd" });
    // Handlebars (v1, refsync's own) leaves metadata as written.
    const v1 = await apply({ metadata: { labels: { user: "{{username}}" } }, data: { p: "{{password}}" } });
    assert.deepEqual(v1.labels, { user: "{{username}}" });
  });

  void test("valuesDecodingStrategy decodes each rendered value", async () => {
    const out = await apply({
      engineVersion: "v2",
      templateFrom: [{ literal: "raw: '{{ .password | b64enc }}'", valuesDecodingStrategy: "Base64" }],
    });
    assert.deepEqual(text(out.data), { raw: "pa55-w0rd" });
    await assert.rejects(
      apply({
        engineVersion: "v2",
        templateFrom: [{ literal: "raw: '%%%'", valuesDecodingStrategy: "Base64" }],
      }),
      /templateFrom\[0\]: key "raw": value is not valid Base64/,
    );
  });

  void test("a missing ConfigMap, Secret or key is NotFound naming it; bad output names the field, never a value", async () => {
    const missing = {
      engineVersion: "v2" as const,
      templateFrom: [{ configMap: { name: "nope", items: [{ key: "k" }] } }],
    };
    await assert.rejects(apply(missing), (err: unknown) => {
      assert.ok(err instanceof SecretNotFoundError);
      assert.equal(
        err.message,
        'spec.target.template.templateFrom[0].configMap: ConfigMap "nope" not found in this namespace',
      );
      return true;
    });
    await assert.rejects(
      apply(
        { engineVersion: "v2", templateFrom: [{ secret: { name: "s", items: [{ key: "gone" }] } }] },
        sources({}, { s: {} }),
      ),
      /templateFrom\[0\]\.secret\.items\[0\]: Secret "s" has no key "gone"/,
    );
    await assert.rejects(
      apply({ engineVersion: "v2", templateFrom: [{ literal: "- {{ .password }}" }] }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidSpecError);
        assert.match(
          err.message,
          /^spec\.target\.template\.templateFrom\[0\]\.literal: the rendered template is not a map/,
        );
        assert.doesNotMatch(err.message, /pa55/);
        return true;
      },
    );
    await assert.rejects(
      apply({ engineVersion: "v2", templateFrom: [{ literal: "n: {{ len .password }}" }] }),
      /templateFrom\[0\]\.literal: the rendered map's key "n" is not a string/,
    );
    await assert.rejects(
      apply({ engineVersion: "v2", templateFrom: [{ literal: "{{ .nope | frobnicate }}" }] }),
      /templateFrom\[0\]\.literal: line 1, column 12: function "frobnicate" not defined/,
    );
  });
});
