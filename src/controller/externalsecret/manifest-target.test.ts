/**
 * ESO's generic targets (spec.target.manifest) as refsync writes them: where
 * the keys go (a ConfigMap's data, spec.data of another kind without a
 * template, the top-level data with one), template.metadata copied as
 * written, the change detection, and the schema's refusals of the fields
 * such a target cannot honour.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ExternalSecret, ExternalSecretSpec } from "../../api/v1alpha1.ts";
import { convertEsoObject } from "../../api/eso.ts";
import { externalSecretSpecProblems } from "../../api/validate.ts";
import type { ResourceType } from "../../kube/resources.ts";
import { desiredManifest, isManifestUpToDate, templateManifest } from "./manifest-target.ts";
import type { TemplateSources } from "./secret-template.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const configMaps: ResourceType = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};
const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
const noSources: TemplateSources = {
  configMap: () => Promise.resolve(undefined),
  secret: () => Promise.resolve(undefined),
};

function es(target: ExternalSecretSpec["target"], labels?: Record<string, string>): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name: "cfg", namespace: "shop", uid: "es-uid", ...(labels && { labels }) },
    spec: { secretStoreRef: { name: "s" }, data: [{ secretKey: "host", remoteRef: { key: "h" } }], target },
  };
}

const values = { dbHost: enc("db.shop"), dbName: enc("shop") };

void describe("desiredManifest", () => {
  void test("without a template: a ConfigMap's data, the ExternalSecret's labels copied", async () => {
    const e = es({ manifest: { apiVersion: "v1", kind: "ConfigMap" } }, { team: "a" });
    const content = await templateManifest(undefined, values, noSources);
    const cm = desiredManifest(e, configMaps, content, "h1");
    assert.equal(cm.apiVersion, "v1");
    assert.equal(cm.kind, "ConfigMap");
    assert.deepEqual(cm.data, { dbHost: "db.shop", dbName: "shop" });
    assert.equal(cm.spec, undefined);
    assert.equal(cm.metadata.labels?.team, "a");
    assert.equal(cm.metadata.annotations?.["refsync.dev/data-hash"], "h1");
    assert.deepEqual(cm.metadata.ownerReferences?.[0]?.uid, "es-uid");
  });

  void test("without a template another kind gets spec.data; with one, the top-level data", async () => {
    const plain = es({ manifest: { apiVersion: "example.com/v1", kind: "Widget" } });
    const w = desiredManifest(plain, widgets, await templateManifest(undefined, values, noSources), "h");
    assert.equal(w.apiVersion, "example.com/v1");
    assert.deepEqual(w.spec, { data: { dbHost: "db.shop", dbName: "shop" } });
    assert.equal(w.data, undefined);
    const template = { engineVersion: "v2" as const, data: { url: "{{ .dbHost }}/{{ .dbName }}" } };
    const templated = es({ manifest: { apiVersion: "example.com/v1", kind: "Widget" }, template });
    const t = desiredManifest(templated, widgets, await templateManifest(template, values, noSources), "h");
    assert.deepEqual(t.data, { url: "db.shop/shop" });
    assert.deepEqual(t.spec, {}, "an empty spec, as ESO writes it");
  });

  void test("template.metadata is copied as written, not rendered; Orphan has no owner", async () => {
    const template = {
      engineVersion: "v2" as const,
      metadata: { labels: { tier: "{{ .dbName }}" } },
      data: { "database.yaml": "host: {{ .dbHost }}\n" },
    };
    const e = es({ manifest: { apiVersion: "v1", kind: "ConfigMap" }, creationPolicy: "Orphan", template });
    const cm = desiredManifest(e, configMaps, await templateManifest(template, values, noSources), "h");
    assert.equal(cm.metadata.labels?.tier, "{{ .dbName }}");
    assert.deepEqual(cm.data, { "database.yaml": "host: db.shop\n" });
    assert.equal(cm.metadata.ownerReferences, undefined);
  });
});

void describe("templateFrom path targets (a literal into the object)", () => {
  const manifest = { apiVersion: "example.com/v1", kind: "Widget" };
  const template = {
    engineVersion: "v2" as const,
    templateFrom: [
      { literal: "host: {{ .dbHost }}\nport: 5432\n", target: "spec.database" },
      { literal: "- 10.0.0.0/8\n", target: "spec.rules[1].from[0].source.notRemoteIpBlocks" },
      { literal: "name: '{{ .dbName }}'", target: "Labels" },
    ],
  };
  void test("YAML set at each path, lists grown, the other targets as usual", async () => {
    const e = es({ manifest, template });
    const content = await templateManifest(template, values, noSources);
    const w = desiredManifest(e, widgets, content, "h");
    assert.deepEqual(w.spec, {
      database: { host: "db.shop", port: 5432 },
      rules: [null, { from: [{ source: { notRemoteIpBlocks: ["10.0.0.0/8"] } }] }],
    });
    assert.equal(w.data, undefined, "no keys: no data field");
    assert.equal(w.metadata.labels?.name, "shop");
    const live = structuredClone(w);
    (live.spec?.database as Record<string, unknown>).extra = "kept";
    assert.equal(isManifestUpToDate(live, w, content.paths), true);
    (live.spec?.database as Record<string, unknown>).port = 5433;
    assert.equal(isManifestUpToDate(live, w, content.paths), false);
  });
  void test("a path replaces a one-step target, merges into a map of several steps", async () => {
    const t = {
      engineVersion: "v2" as const,
      templateFrom: [
        { literal: "a: 1", target: "spec.conf" },
        { literal: "b: 2", target: "spec.conf" },
        { literal: "only: here", target: "status" },
        { literal: "gone: soon", target: "status" },
      ],
    };
    const w = desiredManifest(
      es({ manifest, template: t }),
      widgets,
      await templateManifest(t, values, noSources),
      "h",
    );
    assert.deepEqual(w.spec, { conf: { a: 1, b: 2 } });
    assert.deepEqual((w as unknown as { status: unknown }).status, { gone: "soon" });
  });
  void test("the schema takes a path only with target.manifest, and only on a literal", () => {
    const base = { secretStoreRef: { name: "s" }, data: [{ secretKey: "k", remoteRef: { key: "k" } }] };
    const withFrom = (from: Record<string, unknown>, m?: typeof manifest) =>
      externalSecretSpecProblems({
        ...base,
        target: { ...(m && { manifest: m }), template: { templateFrom: [from] } },
      }).join("\n");
    assert.equal(withFrom({ literal: "a: b", target: "spec.x" }, manifest), "");
    assert.match(
      withFrom({ literal: "a: b", target: "spec.x" }),
      /templateFrom\[0\]\.target: a Secret target takes Data, Annotations or Labels; a path needs target\.manifest/,
    );
    assert.match(
      withFrom({ configMap: { name: "c", items: [{ key: "k" }] }, target: "spec.x" }, manifest),
      /a path target takes a literal only/,
    );
    assert.match(
      withFrom({ literal: "a: b", target: "spec..x" }, manifest),
      /must be Data, Annotations, Labels or a path/,
    );
  });
});

void describe("isManifestUpToDate", () => {
  const e = es({ manifest: { apiVersion: "example.com/v1", kind: "Widget" } });
  const desired = desiredManifest(e, widgets, { data: values, labels: {}, annotations: {}, paths: [] }, "h");
  void test("the same keys and metadata: nothing to write", () => {
    const live = structuredClone(desired);
    (live.spec as { data: Record<string, string> }).data.other = "kept";
    assert.equal(isManifestUpToDate(live, desired, []), true);
  });
  void test("a missing object, an edited key or a lost label: a write", () => {
    assert.equal(isManifestUpToDate(undefined, desired, []), false);
    const edited = structuredClone(desired);
    (edited.spec as { data: Record<string, string> }).data.dbHost = "elsewhere";
    assert.equal(isManifestUpToDate(edited, desired, []), false);
    const unlabelled = structuredClone(desired);
    unlabelled.metadata.labels = {};
    assert.equal(isManifestUpToDate(unlabelled, desired, []), false);
  });
});

void describe("the schema of spec.target.manifest", () => {
  const spec = (target: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    secretStoreRef: { name: "s" },
    data: [{ secretKey: "k", remoteRef: { key: "k" } }],
    target: { manifest: { apiVersion: "v1", kind: "ConfigMap" }, ...target },
    ...extra,
  });
  void test("a ConfigMap or a custom resource is accepted", () => {
    assert.deepEqual(externalSecretSpecProblems(spec({})), []);
    assert.deepEqual(
      externalSecretSpecProblems(spec({ manifest: { apiVersion: "example.com/v1", kind: "Widget" } })),
      [],
    );
  });
  void test("fields a manifest target cannot honour are refused by name", () => {
    const problems = (target: Record<string, unknown>, extra?: Record<string, unknown>) =>
      externalSecretSpecProblems(spec(target, extra)).join("\n");
    assert.match(problems({ immutable: true }), /^spec\.target\.immutable: applies only to a Secret target/);
    assert.match(
      problems({ template: { type: "kubernetes.io/tls", data: { a: "b" } } }),
      /spec\.target\.template\.type:/,
    );
    assert.match(
      problems({ template: { mergePolicy: "Merge", data: { a: "b" } } }),
      /spec\.target\.template\.mergePolicy: Merge applies only to a Secret target/,
    );
    assert.match(
      problems({ template: { metadata: { finalizers: ["x/y"] }, data: { a: "b" } } }),
      /spec\.target\.template\.metadata\.finalizers:/,
    );
    assert.match(problems({ template: { metadata: { labels: { a: "b" } } } }), /would write no key/);
    assert.match(
      problems({}, { rollout: { enabled: true } }),
      /^spec\.rollout: restarts follow a Secret's data/,
    );
    assert.match(
      problems({ manifest: { apiVersion: "v1", kind: "Secret" } }),
      /spec\.target\.manifest: names a Secret, which is the default target/,
    );
    assert.match(
      problems({ manifest: { apiVersion: "", kind: "ConfigMap" } }),
      /spec\.target\.manifest\.apiVersion/,
    );
  });
});

void test("ESO's templated-ConfigMap example converts with its manifest and validates", () => {
  const result = convertEsoObject({
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: { name: "app-settings" },
    spec: {
      refreshInterval: "30m",
      secretStoreRef: { name: "backend", kind: "SecretStore" },
      target: {
        name: "app-settings",
        manifest: { apiVersion: "v1", kind: "ConfigMap" },
        template: {
          engineVersion: "v2",
          data: { "settings.yaml": "endpoint: https://{{ .apiHost }}\nregion: {{ .region }}\n" },
        },
      },
      data: [
        { secretKey: "apiHost", remoteRef: { key: "settings/api-host" } },
        { secretKey: "region", remoteRef: { key: "settings/region" } },
      ],
    },
  });
  assert.ok(result.ok, result.ok ? "" : result.problems.join("; "));
  const spec = result.object.spec as ExternalSecretSpec;
  assert.deepEqual(spec.target?.manifest, { apiVersion: "v1", kind: "ConfigMap" });
  assert.deepEqual(result.dropped, []);
  assert.deepEqual(externalSecretSpecProblems(spec), []);
});
