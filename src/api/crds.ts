/**
 * The CustomResourceDefinitions of refsync.dev/v1alpha1, generated from the
 * zod schemas of ./schema.ts and of each provider (`npm run crds` writes them
 * to manifests/crds/; a test fails when the committed files differ).
 *
 * `z.toJSONSchema` gives OpenAPI 3.0; `structural` turns that into what the
 * API server (v1.20 and later) accepts as a structural schema and what the
 * design asks of it:
 * - every node typed, nothing by `$ref`, no `anyOf` (a union of different
 *   types, say a string or a number, becomes an untyped node that keeps any
 *   value: the controller checks it);
 * - every object under `spec` keeps unknown fields
 *   (`x-kubernetes-preserve-unknown-fields`), so that the controller sees a
 *   typo and refuses it (InvalidSpec naming the field) instead of the API
 *   server pruning it silently;
 * - no `default` (the API server would set it and Argo CD would see drift;
 *   the value goes into the description instead), no zod-only formats, and
 *   no exclusive bounds (zod's message for `qps: 0` says what to do);
 * - a `description` on every field, from `.describe()`, for `kubectl explain`.
 * What OpenAPI cannot say (one-of, regular expressions, durations) stays in
 * zod, checked by the controller and by `refsync validate`.
 */
import { z } from "zod";
import {
  clusterExternalSecretSpecSchema,
  externalSecretSpecSchema,
  providerMeta,
  secretStoreSpecSchema,
  storeSpecSchema,
} from "./schema.ts";
import {
  clusterGeneratorSpecSchema,
  GENERATOR_KINDS,
  GENERATOR_PROVIDER_SECTIONS,
  GENERATORS_API_VERSION,
  GENERATORS_GROUP,
  type GeneratorKind,
} from "./generators.ts";
import { GROUP, VERSION } from "./v1alpha1.ts";

/** A node of an OpenAPI v3 schema as a CRD holds it. */
export interface CrdSchema {
  description?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, CrdSchema>;
  additionalProperties?: CrdSchema;
  items?: CrdSchema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

type Json = Record<string, unknown>;

/** Keys of z.toJSONSchema's output that are carried over as they are. */
const KEPT = [
  "enum",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
] as const;
/** Keys handled below; anything else is a shape this converter was not taught, and an error. */
const HANDLED = new Set<string>([
  ...KEPT,
  "description",
  "type",
  "format",
  "pattern",
  "contentEncoding",
  "default",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "anyOf",
  // An exclusive bound (`qps: 0` for `.positive()`) is left to zod, whose message says what
  // to do instead; the CRD keeps the inclusive bound.
  "exclusiveMinimum",
  "exclusiveMaximum",
]);
/** Formats the API server knows and that mean there what they mean in zod. */
const FORMATS = new Set(["date-time", "int32", "int64"]);

/**
 * The structural OpenAPI schema of a zod schema (as its input: what a user
 * writes). `preserveUnknownFields` marks every object, as under `spec`.
 */
export function structural(schema: z.ZodType, options: { preserveUnknownFields: boolean }): CrdSchema {
  const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input" }) as Json;
  return convert(json, "", options.preserveUnknownFields);
}

function convert(node: Json, path: string, preserve: boolean): CrdSchema {
  for (const key of Object.keys(node))
    if (!HANDLED.has(key)) throw new Error(`${path || "(root)"}: cannot put "${key}" in a structural schema`);
  const description = describe(node, path);
  const out: CrdSchema = description ? { description } : {};
  if (node.anyOf !== undefined || node.type === undefined) {
    // A union (`z.union([z.string(), z.number()])`) or anything (`z.unknown()`): the API
    // server takes any value here and keeps it; the controller checks it against zod.
    out["x-kubernetes-preserve-unknown-fields"] = true;
    return out;
  }
  const type = node.type as string;
  out.type = type;
  if (typeof node.format === "string" && FORMATS.has(node.format)) out.format = node.format;
  // A format's own pattern (zod's base64, url) is zod's business; `.regex()` patterns stay,
  // written to mean the same in JavaScript and in Go's RE2.
  if (typeof node.pattern === "string" && node.format === undefined) out.pattern = node.pattern;
  for (const key of KEPT) {
    const value = node[key];
    // z.int() bounds itself to JavaScript's safe integers; Kubernetes needs no such bound.
    if (value === undefined || Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    (out as Json)[key] = value;
  }
  if (type === "array") out.items = convert(node.items as Json, `${path}[]`, preserve);
  if (type !== "object") return out;
  const properties = node.properties as Record<string, Json> | undefined;
  const additional = node.additionalProperties;
  if (properties && Object.keys(properties).length > 0) {
    if (preserve) out["x-kubernetes-preserve-unknown-fields"] = true;
    const required = node.required as string[] | undefined;
    if (required?.length) out.required = required;
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([key, child]) => [key, convert(child, `${path}.${key}`, preserve)]),
    );
  } else if (typeof additional === "object" && additional !== null && "type" in additional) {
    // A map (z.record) of typed values.
    out.additionalProperties = convert(additional as Json, `${path}{}`, preserve);
  } else {
    // A map of anything (z.record(z.string(), z.unknown())).
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  return out;
}

/** The node's description, with its zod default said in words (the API server sets none). */
function describe(node: Json, path: string): string | undefined {
  const description = typeof node.description === "string" ? node.description.trim() : undefined;
  if (node.default === undefined) return description;
  const words = `Defaults to ${JSON.stringify(node.default)}.`;
  if (!description) throw new Error(`${path}: a field with a default needs a description`);
  return `${description} ${words}`;
}

const standardFields: Record<string, CrdSchema> = {
  apiVersion: {
    description:
      "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    type: "string",
  },
  kind: {
    description:
      "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
    type: "string",
  },
  // The API server describes metadata itself (and refuses anything here but its type).
  metadata: { type: "object" },
};

const observedGeneration: CrdSchema = {
  description: "The metadata.generation this status describes.",
  type: "integer",
  format: "int64",
};

const conditions: CrdSchema = {
  description: "Current state; Ready says whether the object does its job, and if not, why.",
  type: "array",
  items: {
    type: "object",
    required: ["type", "status"],
    properties: {
      type: { description: "Type of the condition, such as Ready.", type: "string" },
      status: { description: "True, False or Unknown.", type: "string", enum: ["True", "False", "Unknown"] },
      reason: { description: "Why, in one CamelCase word, such as InvalidSpec.", type: "string" },
      message: { description: "Why, in words; never a secret's value.", type: "string" },
      lastTransitionTime: {
        description: "When status last changed.",
        type: "string",
        format: "date-time",
      },
      observedGeneration,
    },
  },
};

const storeStatus: CrdSchema = {
  description: "What the controller observed of the store.",
  type: "object",
  properties: { observedGeneration, conditions },
};

const externalSecretStatus: CrdSchema = {
  description: "What the controller observed and did.",
  type: "object",
  properties: {
    observedGeneration,
    refreshTime: {
      description: "When the values were last read from the store.",
      type: "string",
      format: "date-time",
    },
    dataHash: { description: "HMAC of the Secret's data (never the data itself).", type: "string" },
    syncedResourceVersion: {
      description: "Generation and force-sync token of the last successful sync.",
      type: "string",
    },
    binding: {
      description: "The Secret written.",
      type: "object",
      properties: { name: { description: "Name of the Secret.", type: "string" } },
    },
    consumers: {
      description: "Workloads that read the Secret.",
      type: "object",
      properties: {
        workloads: { description: "How many workloads read the Secret.", type: "integer" },
        stalePods: { description: "Pods of theirs still running with older values.", type: "integer" },
      },
    },
    leases: {
      description:
        "Leases of the dynamic secrets the data came from, renewed by the controller: identifiers and times only.",
      type: "array",
      items: {
        type: "object",
        required: ["id", "renewable", "durationSeconds", "expiresAt"],
        properties: {
          id: { description: "The backend's lease ID.", type: "string" },
          renewable: { description: "Whether the lease can be renewed.", type: "boolean" },
          store: {
            description:
              "The store the lease was read through (SecretStore/<namespace>/<name> or ClusterSecretStore/<name>).",
            type: "string",
          },
          durationSeconds: {
            description: "Seconds granted by the last read or renewal.",
            type: "integer",
            minimum: 0,
          },
          expiresAt: {
            description: "When the lease runs out unless renewed.",
            type: "string",
            format: "date-time",
          },
        },
      },
    },
    conditions,
  },
};

// Printer columns named and ordered as External Secrets Operator's (its kubebuilder
// printcolumn markers), so `kubectl get` reads the same to an ESO user; Age is added last
// where ESO has none. Stores have no Capabilities column: refsync reports none.
const ageColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
const statusColumn = {
  name: "Status",
  type: "string",
  description: "The Ready condition's reason.",
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
};
const readyColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const storeColumns = [ageColumn, statusColumn, readyColumn];
const externalSecretColumns = [
  {
    name: "StoreType",
    type: "string",
    description: "spec.secretStoreRef.kind; empty means SecretStore.",
    jsonPath: ".spec.secretStoreRef.kind",
  },
  { name: "Store", type: "string", jsonPath: ".spec.secretStoreRef.name" },
  {
    name: "Refresh Interval",
    type: "string",
    description: "spec.refreshInterval; empty means the default, 1h.",
    jsonPath: ".spec.refreshInterval",
  },
  statusColumn,
  readyColumn,
  { name: "Last Sync", type: "date", jsonPath: ".status.refreshTime" },
  ageColumn,
];

const clusterExternalSecretStatus: CrdSchema = {
  description: "What the controller observed and did.",
  type: "object",
  properties: {
    observedGeneration,
    externalSecretName: { description: "Name of the ExternalSecrets created.", type: "string" },
    failedNamespaces: {
      description: "Selected namespaces without the ExternalSecret, and why.",
      type: "array",
      items: {
        type: "object",
        required: ["namespace"],
        properties: {
          namespace: { description: "The namespace.", type: "string" },
          reason: { description: "Why the ExternalSecret could not be written there.", type: "string" },
        },
      },
    },
    provisionedNamespaces: {
      description: "Namespaces holding the ExternalSecret.",
      type: "array",
      items: { type: "string" },
    },
    conditions,
  },
};

// As ESO's printcolumn markers for ClusterExternalSecret, with Age last.
const clusterExternalSecretColumns = [
  { name: "Store", type: "string", jsonPath: ".spec.externalSecretSpec.secretStoreRef.name" },
  {
    name: "Refresh Interval",
    type: "string",
    description: "spec.refreshTime; empty means the default, 1h.",
    jsonPath: ".spec.refreshTime",
  },
  readyColumn,
  ageColumn,
];

const KEEPS_UNKNOWN = [
  "Every object under spec keeps unknown fields (x-kubernetes-preserve-unknown-fields): the",
  "API server would prune them silently, and the controller must see a typo to refuse it",
  "(Ready=False, InvalidSpec naming the field).",
];

export interface CrdFile {
  /** File name in manifests/crds/. */
  file: string;
  /** Comment lines at the top of the file. */
  header: string[];
  crd: {
    apiVersion: "apiextensions.k8s.io/v1";
    kind: "CustomResourceDefinition";
    metadata: { name: string };
    spec: Json;
  };
}

function crd(options: {
  kind: string;
  plural: string;
  /** Unset: none (generators, as ESO's, have none). */
  shortName?: string;
  scope: "Namespaced" | "Cluster";
  description: string;
  spec: CrdSchema;
  /** Unset: no status (a generator has none). */
  status?: CrdSchema;
  columns: object[];
  /** Unset: refsync.dev. */
  group?: string;
  categories?: string[];
}): CrdFile["crd"] {
  const group = options.group ?? GROUP;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${options.plural}.${group}` },
    spec: {
      group,
      names: {
        kind: options.kind,
        listKind: `${options.kind}List`,
        plural: options.plural,
        singular: options.kind.toLowerCase(),
        ...(options.shortName && { shortNames: [options.shortName] }),
        categories: options.categories ?? ["refsync"],
      },
      scope: options.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          ...(options.status && { subresources: { status: {} } }),
          additionalPrinterColumns: options.columns,
          schema: {
            openAPIV3Schema: {
              description: options.description,
              type: "object",
              required: ["spec"],
              properties: {
                ...standardFields,
                spec: options.spec,
                ...(options.status && { status: options.status }),
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * The store spec with each provider's own schema as its section of `provider`
 * (validation leaves those to the providers; the CRD spells them out).
 */
function storeSpecWithProviders(schema: z.ZodObject, sections: ProviderSections): z.ZodType {
  const known = Object.keys(storeSpecSchema.shape.provider.shape);
  const registered = Object.keys(sections);
  if ([...known].sort().join() !== [...registered].sort().join())
    throw new Error(`spec.provider knows ${known.join(", ")} but the providers are ${registered.join(", ")}`);
  const provider = z
    .strictObject(Object.fromEntries(known.map((key) => [key, sections[key]?.optional()])))
    .meta(providerMeta);
  // extend() makes a new schema: the description goes along by hand.
  return schema.extend({ provider }).meta(schema.meta() ?? {});
}

/** Each provider's section of `spec.provider`, by its key: `specSchema` of allProviders() (src/providers/registry.ts). */
export type ProviderSections = Record<string, z.ZodType>;

/** The CRDs, from the zod schemas here and the providers' own. */
export function crdFiles(providers: ProviderSections): CrdFile[] {
  const spec = (schema: z.ZodType): CrdSchema => structural(schema, { preserveUnknownFields: true });
  const storeProviders =
    "Provider sections are validated by each provider in code (InvalidSpec with the field path);";
  const noDefaults = "the API server applies no defaults (the controller does), so Argo CD sees no drift.";
  return [
    {
      file: "secretstore.yaml",
      header: [
        "SecretStore: where the ExternalSecrets of one namespace read from.",
        storeProviders,
        noDefaults,
      ],
      crd: crd({
        kind: "SecretStore",
        plural: "secretstores",
        shortName: "rsss",
        scope: "Namespaced",
        description: "SecretStore: where the ExternalSecrets of its namespace read from (one provider).",
        spec: spec(storeSpecWithProviders(secretStoreSpecSchema, providers)),
        status: storeStatus,
        columns: storeColumns,
      }),
    },
    {
      file: "clustersecretstore.yaml",
      header: [
        "ClusterSecretStore: a store every namespace that `spec.conditions` allows may read from.",
        storeProviders,
        noDefaults,
      ],
      crd: crd({
        kind: "ClusterSecretStore",
        plural: "clustersecretstores",
        shortName: "rscss",
        scope: "Cluster",
        description:
          "ClusterSecretStore: a store that the ExternalSecrets of every namespace its spec.conditions allow may read from.",
        spec: spec(storeSpecWithProviders(storeSpecSchema, providers)),
        status: storeStatus,
        columns: storeColumns,
      }),
    },
    {
      file: "externalsecret.yaml",
      header: [
        "ExternalSecret: which values to fetch from a store and how to write them into a Secret.",
        "Defaults are applied by the controller, never by the API server, so Argo CD sees no drift.",
      ],
      crd: crd({
        kind: "ExternalSecret",
        plural: "externalsecrets",
        shortName: "rses",
        scope: "Namespaced",
        description: "ExternalSecret: which values to read from a store and how to write them into a Secret.",
        spec: spec(externalSecretSpecSchema),
        status: externalSecretStatus,
        columns: externalSecretColumns,
      }),
    },
    {
      file: "clusterexternalsecret.yaml",
      header: [
        "ClusterExternalSecret: one ExternalSecret in every namespace its selectors choose.",
        "Defaults are applied by the controller, never by the API server, so Argo CD sees no drift.",
      ],
      crd: crd({
        kind: "ClusterExternalSecret",
        plural: "clusterexternalsecrets",
        shortName: "rsces",
        scope: "Cluster",
        description:
          "ClusterExternalSecret: an ExternalSecret created in every namespace its selectors choose, and removed from those they no longer choose.",
        spec: spec(clusterExternalSecretSpecSchema),
        status: clusterExternalSecretStatus,
        columns: clusterExternalSecretColumns,
      }),
    },
    ...generatorCrdFiles(spec, providers),
  ].map((f) => ({ ...f, header: [...f.header, ...KEEPS_UNKNOWN] }));
}

/** A generator kind's spec with its `provider` spelled out by that provider's own schema (VaultDynamicSecret). */
function generatorSpecWithProvider(kind: GeneratorKind, sections: ProviderSections): z.ZodObject {
  const schema: z.ZodObject = GENERATOR_KINDS[kind].schema;
  const uses = GENERATOR_PROVIDER_SECTIONS[kind];
  if (uses === undefined) return schema;
  const section = sections[uses.section];
  if (!(section instanceof z.ZodObject))
    throw new Error(`generator ${kind} needs the provider ${uses.section}`);
  const provider = section
    .omit(Object.fromEntries(uses.without.map((field) => [field, true])))
    .meta(section.meta() ?? {});
  // safeExtend keeps the spec's checks; the description goes along by hand.
  return schema.safeExtend({ provider }).meta(schema.meta() ?? {});
}

/** One CRD per generator kind of generators.refsync.dev, and the cluster-wide ClusterGenerator. */
function generatorCrdFiles(spec: (schema: z.ZodType) => CrdSchema, sections: ProviderSections): CrdFile[] {
  const common = {
    group: GENERATORS_GROUP,
    categories: ["refsync", "refsync-generators"],
    columns: [ageColumn],
  };
  const header = (what: string) => [
    `${what}, referenced by an ExternalSecret's dataFrom[].sourceRef.generatorRef.`,
    "It has no status: the values it makes go only into the referencing ExternalSecret's Secret.",
  ];
  const kinds = Object.keys(GENERATOR_KINDS) as GeneratorKind[];
  const specs = Object.fromEntries(kinds.map((kind) => [kind, generatorSpecWithProvider(kind, sections)]));
  const generator = clusterGeneratorSpecSchema.shape.generator;
  const clusterSpec = clusterGeneratorSpecSchema
    .safeExtend({
      generator: generator
        .safeExtend(
          Object.fromEntries(kinds.map((kind) => [GENERATOR_KINDS[kind].specKey, specs[kind]?.optional()])),
        )
        .meta(generator.meta() ?? {}),
    })
    .meta(clusterGeneratorSpecSchema.meta() ?? {});
  const namespaced = Object.entries(GENERATOR_KINDS).map(([kind, { schema, plural }]) => ({
    file: `generator-${kind.toLowerCase()}.yaml`,
    header: header(`${kind}: a generator (${GENERATORS_API_VERSION})`),
    crd: crd({
      ...common,
      kind,
      plural,
      scope: "Namespaced" as const,
      description: `${kind} generator: ${schema.description ?? ""}`.trim(),
      spec: spec(specs[kind] ?? schema),
    }),
  }));
  return [
    ...namespaced,
    {
      file: "generator-clustergenerator.yaml",
      header: header(`ClusterGenerator: a generator every namespace may use (${GENERATORS_API_VERSION})`),
      crd: crd({
        ...common,
        kind: "ClusterGenerator",
        plural: "clustergenerators",
        scope: "Cluster",
        description: `ClusterGenerator: ${clusterGeneratorSpecSchema.description ?? ""}`.trim(),
        spec: spec(clusterSpec),
      }),
    },
  ];
}
