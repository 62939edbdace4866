/**
 * Every spec is strict: for each object at every level of every schema (the
 * ExternalSecret and store specs, and each registered provider's section), a
 * minimal document with one unknown field at that level must be refused with
 * an error naming the field's full path. The schemas are walked generically,
 * so a new field, level or provider is covered without touching this test.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { z } from "zod";
import { ConfigError, InvalidSpecError } from "../errors.ts";
import { allProviders } from "../providers/registry.ts";
import { configSchema, parseConfig } from "../render/config.ts";
import type { ProviderContext } from "../providers/types.ts";
import {
  externalSecretSpecSchema,
  storeSpecSchema,
  validateExternalSecretSpec,
  validateStoreSpec,
} from "./validate.ts";

type Segment = string | number;
type Def = z.core.$ZodTypeDef & Record<string, unknown>;

const UNKNOWN = "refsyncUnknownField";
const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "nonoptional", "catch"]);
const LEAVES = new Set(["string", "number", "boolean", "enum", "literal", "unknown", "any", "null"]);

const defOf = (schema: z.core.$ZodType): Def => schema._zod.def as Def;

/** The schema with optional/default/pipe… wrappers removed. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = defOf(schema);
  if (WRAPPERS.has(def.type)) return unwrap(def.innerType as z.core.$ZodType);
  if (def.type === "pipe") return unwrap(def.in as z.core.$ZodType);
  return schema;
}

interface ObjectNode {
  /** Array items are at index 0, record values at key "k". */
  path: Segment[];
  schema: z.core.$ZodType;
}

/** Every object schema inside `schema`, with its path. */
function objectNodes(schema: z.core.$ZodType, path: Segment[] = []): ObjectNode[] {
  const inner = unwrap(schema);
  const def = defOf(inner);
  switch (def.type) {
    case "object": {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      const children = Object.entries(shape).flatMap(([key, child]) => objectNodes(child, [...path, key]));
      return [{ path, schema: inner }, ...children];
    }
    case "array":
      return objectNodes(def.element as z.core.$ZodType, [...path, 0]);
    case "record":
      return objectNodes(def.valueType as z.core.$ZodType, [...path, "k"]);
    case "union":
      return (def.options as z.core.$ZodType[]).flatMap((option) => objectNodes(option, path));
    default:
      // A new kind of node must be taught here, not skipped: it may hide a non-strict object.
      assert.ok(LEAVES.has(def.type), `strict.test.ts does not know zod type "${def.type}" at ${show(path)}`);
      return [];
  }
}

/** A small value of `schema`'s shape: required fields only (leaf values need not be valid). */
function sample(schema: z.core.$ZodType): unknown {
  const def = defOf(unwrap(schema));
  switch (def.type) {
    case "object":
      return Object.fromEntries(
        Object.entries(def.shape as Record<string, z.core.$ZodType>)
          .filter(([, child]) => !(child as z.ZodType).safeParse(undefined).success)
          .map(([key, child]) => [key, sample(child)]),
      );
    case "array":
      return [];
    case "union":
      return sample((def.options as z.core.$ZodType[])[0] as z.core.$ZodType);
    case "number":
      return 1;
    case "boolean":
      return true;
    case "enum":
      return Object.values(def.entries as Record<string, unknown>)[0];
    case "literal":
      return (def.values as unknown[])[0];
    case "string":
      return "x";
    default:
      return {};
  }
}

/** A document of `schema` that holds `leaf` at `path`, with the required fields on the way there. */
function documentWith(schema: z.core.$ZodType, path: Segment[], leaf: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return leaf;
  const def = defOf(unwrap(schema));
  switch (def.type) {
    case "object": {
      const child = (def.shape as Record<string, z.core.$ZodType>)[head] as z.core.$ZodType;
      return { ...(sample(schema) as object), [head]: documentWith(child, rest, leaf) };
    }
    case "array":
      return [documentWith(def.element as z.core.$ZodType, rest, leaf)];
    case "record":
      return { [head]: documentWith(def.valueType as z.core.$ZodType, rest, leaf) };
    case "union": {
      const option = (def.options as z.core.$ZodType[]).find((o) =>
        objectNodes(o).some((node) => show(node.path) === show(path)),
      );
      assert.ok(option, `no union option reaches ${show(path)}`);
      return documentWith(option, path, leaf);
    }
    default:
      throw new Error(`cannot descend into zod type "${def.type}"`);
  }
}

function show(path: Segment[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
}

const context: ProviderContext = {
  storeName: "SecretStore/app/strict",
  namespace: "app",
  readCredential: () => Promise.reject(new Error("unused")),
  kubernetes: () => ({
    readSecret: () => Promise.reject(new Error("unused")),
    listSecrets: () => Promise.reject(new Error("unused")),
  }),
};

const roots: { name: string; schema: z.core.$ZodType; root: string; parse(doc: unknown): unknown }[] = [
  {
    name: "ExternalSecret",
    schema: externalSecretSpecSchema,
    root: "spec",
    parse: validateExternalSecretSpec,
  },
  { name: "SecretStore", schema: storeSpecSchema, root: "spec", parse: validateStoreSpec },
  ...allProviders().map((provider) => ({
    name: `provider ${provider.specKey}`,
    schema: provider.specSchema(),
    root: `spec.provider.${provider.specKey}`,
    // Through the factory, as the controller and the plugin create clients.
    parse: (doc: unknown) => provider.create(doc, context),
  })),
  {
    name: "plugin configuration",
    schema: configSchema,
    root: "",
    parse: (doc: unknown) => parseConfig(JSON.stringify(doc), "refsync.yaml"),
  },
];

void describe("every spec is strict: an unknown field at any level is an error naming its path", () => {
  for (const { name, schema, root, parse } of roots) {
    const nodes = objectNodes(schema);
    void test(`${name}: ${nodes.length} levels`, () => {
      assert.ok(nodes.length > 0);
      for (const node of nodes) {
        const field = `${root}${show(node.path)}.${UNKNOWN}`.replace(/^\./, "");
        const doc = documentWith(schema, node.path, { ...(sample(node.schema) as object), [UNKNOWN]: 1 });
        assert.throws(
          () => parse(doc),
          (err: Error) =>
            (err instanceof InvalidSpecError || err instanceof ConfigError) &&
            err.message.includes(`${field}: unknown field`),
          `${name}: ${field} was accepted or not named`,
        );
      }
    });
  }
});
