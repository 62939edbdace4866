/**
 * The generators of `generators.refsync.dev/v1alpha1`: objects that make new
 * values (a password, a UUID, static data) instead of reading them from a
 * store, referenced by an ExternalSecret's `dataFrom[].sourceRef.generatorRef`.
 *
 * They live in their own API group, as ESO's do (`generators.external-secrets.io`
 * next to `external-secrets.io`): a generator is not a store and holds no
 * credentials of its own, so RBAC can grant it apart from stores, `kubectl get
 * refsync-generators` lists them together, and an ESO generatorRef converts by
 * its group alone (same kinds, same version). The specs are strict zod schemas,
 * as in ./schema.ts: they validate, give the types and generate the CRDs.
 */
import { z } from "zod";
import { retrySettingsSchema } from "./retry-settings.ts";

export const GENERATORS_GROUP = "generators.refsync.dev";
export const GENERATORS_VERSION = "v1alpha1";
export const GENERATORS_API_VERSION = `${GENERATORS_GROUP}/${GENERATORS_VERSION}`;

/** Go's `password` generator's default symbols (sethvargo/go-password, as ESO uses it). */
export const DEFAULT_SYMBOL_CHARACTERS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./';

const count = (what: string) =>
  z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(`How many ${what} the password holds. Unset: a quarter of length, rounded down.`);

export const passwordSpecSchema = z
  .strictObject({
    length: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("How many characters the password has. Unset or 0: 24."),
    digits: count("digits (0-9)"),
    symbols: count("symbols (from symbolCharacters)"),
    symbolCharacters: z
      .string()
      // Go's generator indexes bytes: a multi-byte character would be split into invalid UTF-8.
      .regex(/^[\x21-\x7e]*$/, "only printable ASCII characters (no spaces)")
      .optional()
      .describe(`The symbols to choose from. Unset or empty: ${DEFAULT_SYMBOL_CHARACTERS}`),
    noUpper: z.boolean().optional().describe("true leaves out upper-case letters."),
    allowRepeat: z
      .boolean()
      .optional()
      .describe(
        "true lets a character appear more than once; false (the default) uses each at most once, so each class must have enough distinct characters.",
      ),
    secretKeys: z
      .array(z.string().min(1))
      .min(1)
      .refine((keys) => new Set(keys).size === keys.length, "keys must be unique")
      .optional()
      .describe("The keys to write, each with its own password. Unset: password."),
    encoding: z
      .enum(["raw", "base64", "base64url", "base32", "hex"])
      .optional()
      .describe(
        "How each password is written: raw (the default) as it is; base64, base64url, base32 (padded, as Go's standard encodings) or hex of its bytes.",
      ),
  })
  .superRefine((spec, ctx) => {
    for (const { path, message } of passwordPlan(spec).problems)
      ctx.addIssue({ code: "custom", path: [path], message });
  })
  .describe("A random password per key, from letters, digits and symbols (node:crypto randomness).");

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";

/** A password's effective settings, ESO's defaults applied. */
export interface PasswordPlan {
  /** How many of each class, and the characters each is drawn from (in the order they are placed). */
  classes: { count: number; characters: string }[];
  allowRepeat: boolean;
  keys: string[];
  encoding: NonNullable<PasswordSpecInput["encoding"]>;
  /** Settings no password can satisfy, each with its field. */
  problems: { path: string; message: string }[];
}
type PasswordSpecInput = {
  length?: number | undefined;
  digits?: number | undefined;
  symbols?: number | undefined;
  symbolCharacters?: string | undefined;
  noUpper?: boolean | undefined;
  allowRepeat?: boolean | undefined;
  secretKeys?: string[] | undefined;
  encoding?: "raw" | "base64" | "base64url" | "base32" | "hex" | undefined;
};

/**
 * ESO's Password settings with its defaults (length 24, a quarter of it
 * digits and a quarter symbols, rounded down; go-password's symbols), and
 * what no password could satisfy: more digits and symbols than length, or,
 * without allowRepeat, a class asked for more characters than it has
 * distinct ones (go-password refuses the counts; with repeated or shared
 * characters it would loop forever, refsync refuses those too).
 */
export function passwordPlan(spec: PasswordSpecInput): PasswordPlan {
  const length = spec.length !== undefined && spec.length > 0 ? spec.length : 24;
  const digits = spec.digits ?? Math.floor(length * 0.25);
  const symbols = spec.symbols ?? Math.floor(length * 0.25);
  const letters = length - digits - symbols;
  const allowRepeat = spec.allowRepeat ?? false;
  const classes = [
    { count: letters, characters: spec.noUpper ? LOWER : LOWER + UPPER, field: "length" },
    { count: digits, characters: DIGITS, field: "digits" },
    { count: symbols, characters: spec.symbolCharacters || DEFAULT_SYMBOL_CHARACTERS, field: "symbols" },
  ];
  const problems: PasswordPlan["problems"] = [];
  if (letters < 0)
    problems.push({
      path: "digits",
      message: `digits and symbols (${digits + symbols}) exceed length (${length})`,
    });
  else if (!allowRepeat) {
    const used = new Set<string>();
    for (const c of classes) {
      const distinct = new Set([...c.characters].filter((ch) => !used.has(ch)));
      distinct.forEach((ch) => used.add(ch));
      if (c.count > distinct.size)
        problems.push({
          path: c.field,
          message: `${c.count} ${c.field === "length" ? "letters" : c.field} without allowRepeat, but only ${distinct.size} distinct characters to choose from`,
        });
    }
  }
  return {
    classes: classes.map(({ count, characters }) => ({ count, characters })),
    allowRepeat,
    keys: spec.secretKeys ?? ["password"],
    encoding: spec.encoding ?? "raw",
    problems,
  };
}

export const uuidSpecSchema = z.strictObject({}).describe("A random (version 4) UUID, under the key uuid.");

/**
 * ESO's controller class on the generator kinds that have one (Fake, VaultDynamicSecret): as a
 * store's spec.controller, it leaves the ExternalSecrets that use the generator to the controller
 * of that class (src/controller/secretstore/controller-class.ts).
 */
const generatorControllerSchema = z
  .string()
  .optional()
  .describe(
    "The controller class that runs this generator: an ExternalSecret that uses it is left alone by controllers of other classes (--controller-class), as for a store's spec.controller. Unset or empty: every controller's.",
  );

export const fakeSpecSchema = z
  .strictObject({
    controller: generatorControllerSchema,
    data: z
      .record(z.string(), z.string())
      .optional()
      .describe("The data returned as it is, key by key (for demos and tests)."),
  })
  .describe("Static data, for demos and tests.");

/** ESO's VaultDynamicSecret result types: which section of Vault's answer becomes the values. */
export const VAULT_RESULT_TYPES = ["Data", "Auth", "Raw"] as const;

export const vaultDynamicSecretSpecSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .describe("The Vault API path to call, such as pki/issue/example-dot-com (a leading / is allowed)."),
    method: z
      .string()
      .optional()
      .describe(
        "How to call it, as ESO does: unset or GET reads (with getParameters), LIST lists, DELETE deletes, anything else writes parameters (Vault's Go client sends every write as PUT, which Vault treats as POST).",
      ),
    parameters: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("The JSON body of a write (any method but GET, LIST and DELETE); ignored otherwise."),
    getParameters: z
      .record(z.string(), z.array(z.string()))
      .optional()
      .describe("Query-string parameters of a GET, each key with one or more values; ignored otherwise."),
    resultType: z
      .enum(VAULT_RESULT_TYPES)
      .optional()
      .describe(
        "Which part of Vault's answer the keys come from: Data (the default) its data, Auth its auth section (a token from auth/token/create), Raw the whole answer. Values that are not strings are written as JSON.",
      ),
    allowEmptyResponse: z
      .boolean()
      .optional()
      .describe("true: an answer with no body (or a 404) gives no keys instead of failing."),
    retrySettings: retrySettingsSchema.optional(),
    controller: generatorControllerSchema,
    /** Checked by the Vault provider when the generator runs; the CRD spells it out. */
    provider: z
      .record(z.string(), z.unknown())
      .describe(
        "The Vault server and how to log in: a SecretStore's spec.provider.vault (server, auth, namespace, caBundle, tls, headers…); secrets it names are read in the ExternalSecret's namespace.",
      ),
  })
  .describe(
    "A call to a Vault secrets engine (a PKI certificate, database credentials, a token), its answer as the keys.",
  );

/** The generator kinds refsync implements, each with its spec, and its key in a ClusterGenerator. */
export const GENERATOR_KINDS = {
  Password: { schema: passwordSpecSchema, specKey: "passwordSpec", plural: "passwords" },
  UUID: { schema: uuidSpecSchema, specKey: "uuidSpec", plural: "uuids" },
  Fake: { schema: fakeSpecSchema, specKey: "fakeSpec", plural: "fakes" },
  VaultDynamicSecret: {
    schema: vaultDynamicSecretSpecSchema,
    specKey: "vaultDynamicSecretSpec",
    plural: "vaultdynamicsecrets",
  },
} as const;

/**
 * The store provider section a generator kind's `provider` field holds (its CRD spells it out),
 * less the fields that have no meaning there (refused when the generator runs).
 */
export const GENERATOR_PROVIDER_SECTIONS: Partial<
  Record<GeneratorKind, { section: string; without: string[] }>
> = {
  // A VaultDynamicSecret calls its spec.path: the KV mount and version mean nothing to it.
  VaultDynamicSecret: { section: "vault", without: ["path", "version"] },
};
export type GeneratorKind = keyof typeof GENERATOR_KINDS;
export const isGeneratorKind = (kind: string): kind is GeneratorKind => Object.hasOwn(GENERATOR_KINDS, kind);

const kindNames = Object.keys(GENERATOR_KINDS) as [GeneratorKind, ...GeneratorKind[]];

export const clusterGeneratorSpecSchema = z
  .strictObject({
    kind: z.enum(kindNames).describe(`The kind of generator: ${kindNames.join(", ")}.`),
    generator: z
      .strictObject(
        Object.fromEntries(
          Object.values(GENERATOR_KINDS).map(({ schema, specKey }) => [specKey, schema.optional()]),
        ) as {
          [K in GeneratorKind as (typeof GENERATOR_KINDS)[K]["specKey"]]: z.ZodOptional<
            (typeof GENERATOR_KINDS)[K]["schema"]
          >;
        },
      )
      .describe(
        `The generator's spec, under the key that kind names (${Object.values(GENERATOR_KINDS)
          .map((k) => k.specKey)
          .join(", ")}).`,
      ),
  })
  .superRefine((spec, ctx) => {
    const want = GENERATOR_KINDS[spec.kind].specKey;
    const set = Object.keys(spec.generator).filter(
      (k) => (spec.generator as Record<string, unknown>)[k] !== undefined,
    );
    if (!set.includes(want))
      ctx.addIssue({ code: "custom", path: ["generator", want], message: `kind ${spec.kind} needs ${want}` });
    for (const other of set.filter((k) => k !== want))
      ctx.addIssue({
        code: "custom",
        path: ["generator", other],
        message: `does not match kind ${spec.kind}`,
      });
  })
  .describe(
    "A generator every namespace may reference (cluster-scoped): its kind, and that kind's spec. ExternalSecrets reference it with kind ClusterGenerator.",
  );

export type PasswordSpec = z.infer<typeof passwordSpecSchema>;
export type FakeSpec = z.infer<typeof fakeSpecSchema>;
export type UuidSpec = z.infer<typeof uuidSpecSchema>;
export type VaultDynamicSecretSpec = z.infer<typeof vaultDynamicSecretSpecSchema>;
export type ClusterGeneratorSpec = z.infer<typeof clusterGeneratorSpecSchema>;
