/**
 * The CRDs as shipped: generated from the zod schemas (`npm run crds`, and
 * the committed files are what it writes), structural, no server-side
 * defaults (Argo CD would see drift), status subresource, printer columns
 * (External Secrets Operator's names and order),
 * short names, a description on every field (kubectl explain), and small
 * enough for client-side apply (the last-applied annotation is limited to
 * 256 KiB). Every object under spec keeps unknown fields, so that the
 * controller sees (and refuses) a mistyped field the API server would
 * otherwise prune.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { renderCrdFiles } from "../../scripts/crds.ts";

const DIR = join(import.meta.dirname, "..", "..", "manifests", "crds");

interface Schema {
  description?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  default?: unknown;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

interface Crd {
  metadata: { name: string };
  spec: {
    names: { kind: string; shortNames?: string[] };
    versions: {
      name: string;
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

/** Every node has a type (or preserves unknown fields) and none has a default. */
function walk(schema: Schema, path: string, problems: string[]): void {
  if (schema.default !== undefined) problems.push(`${path}: default`);
  if (!schema.type && !schema["x-kubernetes-preserve-unknown-fields"]) problems.push(`${path}: no type`);
  for (const [k, v] of Object.entries(schema.properties ?? {})) walk(v, `${path}.${k}`, problems);
  if (schema.items) walk(schema.items, `${path}[]`, problems);
  if (typeof schema.additionalProperties === "object")
    walk(schema.additionalProperties, `${path}{}`, problems);
}

/** Objects with properties under `spec` that would prune unknown fields. */
function pruning(schema: Schema, path: string, problems: string[]): void {
  if (schema.properties && !schema["x-kubernetes-preserve-unknown-fields"]) problems.push(path);
  for (const [k, v] of Object.entries(schema.properties ?? {})) pruning(v, `${path}.${k}`, problems);
  if (schema.items) pruning(schema.items, `${path}[]`, problems);
}

/** Fields without a description, and constructs a structural schema may not hold where we put them. */
function undescribed(schema: Schema, path: string, problems: string[]): void {
  for (const key of ["$ref", "anyOf", "allOf", "oneOf", "not"])
    if (key in schema) problems.push(`${path}: ${key}`);
  for (const [k, v] of Object.entries(schema.properties ?? {})) {
    // The API server describes metadata itself, and refuses a description there.
    if (!v.description?.trim() && `${path}.${k}` !== ".metadata")
      problems.push(`${path}.${k}: no description`);
    undescribed(v, `${path}.${k}`, problems);
  }
  if (schema.items) undescribed(schema.items, `${path}[]`, problems);
  if (typeof schema.additionalProperties === "object")
    undescribed(schema.additionalProperties, `${path}{}`, problems);
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml") && !f.startsWith("kustomization"));

void describe("CRDs", () => {
  void test("the four kinds and the generators are there", () => {
    const kinds = files.map((f) => (parse(readFileSync(join(DIR, f), "utf8")) as Crd).spec.names.kind).sort();
    assert.deepEqual(kinds, [
      "ClusterExternalSecret",
      "ClusterGenerator",
      "ClusterSecretStore",
      "ExternalSecret",
      "Fake",
      "Password",
      "SecretStore",
      "UUID",
      "VaultDynamicSecret",
    ]);
  });
  void test("the committed CRDs are what `npm run crds` writes from the zod schemas", async () => {
    const generated = await renderCrdFiles();
    assert.deepEqual([...generated.keys()].sort(), [...files].sort());
    for (const [file, text] of generated)
      assert.ok(readFileSync(join(DIR, file), "utf8") === text, `${file} is stale: run npm run crds`);
  });
  for (const file of files) {
    void test(`${file}: every field of spec and status has a description (kubectl explain)`, () => {
      const crd = parse(readFileSync(join(DIR, file), "utf8")) as Crd;
      for (const version of crd.spec.versions) {
        const root = version.schema.openAPIV3Schema;
        assert.ok(root.description?.trim(), "the kind has a description");
        const problems: string[] = [];
        undescribed(root, "", problems);
        assert.deepEqual(problems, []);
      }
    });
    void test(`${file}: structural, no defaults, status subresource, columns, short names, small`, () => {
      const text = readFileSync(join(DIR, file), "utf8");
      assert.ok(Buffer.byteLength(JSON.stringify(parse(text))) < 64 * 1024);
      assert.ok(!/^\s*default:/m.test(text), "a default: line");
      const crd = parse(text) as Crd;
      // Generators, as ESO's, have no short names, no status and only an Age column.
      const generator = file.startsWith("generator-");
      assert.equal(!crd.spec.names.shortNames?.length, generator);
      for (const version of crd.spec.versions) {
        const problems: string[] = [];
        walk(version.schema.openAPIV3Schema, "", problems);
        assert.deepEqual(problems, []);
        const spec = version.schema.openAPIV3Schema.properties?.spec;
        assert.ok(spec);
        pruning(spec, "spec", problems);
        assert.deepEqual(problems, [], "prunes unknown fields");
        assert.equal(!version.subresources?.status, generator);
        const columns = version.additionalPrinterColumns?.map((c) => c.name) ?? [];
        // ESO's columns in ESO's order (Age last where ESO has none).
        const expected =
          {
            ExternalSecret: ["StoreType", "Store", "Refresh Interval", "Status", "Ready", "Last Sync", "Age"],
            ClusterExternalSecret: ["Store", "Refresh Interval", "Ready", "Age"],
          }[crd.spec.names.kind] ?? (generator ? ["Age"] : ["Age", "Status", "Ready"]);
        assert.deepEqual(columns, expected);
      }
    });
  }
});
