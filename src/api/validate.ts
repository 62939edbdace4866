/**
 * zod schemas for the specs the controller acts on. The CRD schemas already
 * reject most bad input at the API server; these catch what OpenAPI cannot
 * express (durations, regular expressions, one-of, unknown fields: the CRDs
 * keep them, see manifests/crds) and objects written before the CRDs were
 * installed. Every object is strict: an unknown field is an error, never
 * dropped. Errors are InvalidSpecError naming the field path.
 */
import { z } from "zod";
import { InvalidSpecError } from "../errors.ts";
import type { ExternalSecretSpec, SecretStoreSpec } from "./v1alpha1.ts";

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations (`1h`, `15m`, `1h30m`, `500ms`) to milliseconds. */
export function parseDuration(value: string): number {
  if (!DURATION.test(value)) throw new InvalidSpecError(`"${value}" is not a duration (like 1h, 15m, 30s)`);
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return total;
}

const regexp = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, "not a valid regular expression");

const decodingStrategy = z.enum(["None", "Base64", "Base64URL", "Auto"]);
const remoteRef = z.strictObject({
  key: z.string().min(1),
  property: z.string().optional(),
  version: z.string().optional(),
  decodingStrategy: decodingStrategy.optional(),
});
const stringMap = z.record(z.string(), z.string());
/** Object names such as a Secret's, checked as the API server does (IsDNS1123Subdomain). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MESSAGE =
  "must be a lowercase RFC 1123 subdomain (lower case alphanumerics, '-' or '.', starting and ending with an alphanumeric, like 'db-credentials')";
/** Kubernetes Secret data keys. */
const secretKey = z
  .string()
  .regex(/^[-._a-zA-Z0-9]+$/, "must consist of alphanumerics, '-', '_' or '.'")
  .max(253);

export const externalSecretSpecSchema = z.strictObject({
  secretStoreRef: z.strictObject({
    name: z.string().min(1),
    kind: z.enum(["SecretStore", "ClusterSecretStore"]).optional(),
  }),
  refreshInterval: z
    .string()
    .regex(DURATION, "must be a duration like 1h, 15m or 30s (0 disables periodic refresh)")
    .or(z.literal("0"))
    .optional(),
  refreshPolicy: z.enum(["Periodic", "OnChange", "CreatedOnce"]).optional(),
  target: z
    .strictObject({
      name: z
        .string()
        .max(253)
        .refine((s) => s === "" || DNS1123_SUBDOMAIN.test(s), DNS1123_SUBDOMAIN_MESSAGE)
        .optional(),
      creationPolicy: z.enum(["Owner", "Merge", "Orphan"]).optional(),
      deletionPolicy: z.enum(["Retain", "Delete"]).optional(),
      template: z
        .strictObject({
          type: z.string().optional(),
          metadata: z
            .strictObject({ labels: stringMap.optional(), annotations: stringMap.optional() })
            .optional(),
          data: z.record(secretKey, z.string()).optional(),
        })
        .optional(),
    })
    .optional(),
  data: z.array(z.strictObject({ secretKey, remoteRef })).optional(),
  dataFrom: z
    .array(
      z
        .strictObject({
          extract: remoteRef.optional(),
          find: z
            .strictObject({
              path: z.string().optional(),
              name: z.strictObject({ regexp }).optional(),
              tags: stringMap.optional(),
              decodingStrategy: decodingStrategy.optional(),
            })
            .optional(),
          rewrite: z
            .array(z.strictObject({ regexp: z.strictObject({ source: regexp, target: z.string() }) }))
            .optional(),
        })
        .refine(
          (d) => (d.extract === undefined) !== (d.find === undefined),
          "set exactly one of extract and find",
        ),
    )
    .optional(),
  rollout: z
    .strictObject({
      enabled: z.boolean().optional(),
      targets: z
        .array(
          z.strictObject({
            kind: z.enum(["Deployment", "StatefulSet", "DaemonSet", "Rollout"]),
            name: z.string().min(1),
          }),
        )
        .optional(),
    })
    .optional(),
});

export const storeSpecSchema = z.strictObject({
  /** Each provider validates its own section (src/providers/registry.ts). */
  provider: z.strictObject({
    vault: z.unknown().optional(),
    aws: z.unknown().optional(),
    kubernetes: z.unknown().optional(),
    fake: z.unknown().optional(),
  }),
  rateLimit: z
    .strictObject({
      // 0 would be a store that can never read (client-go's "0 means the default" would surprise as much).
      qps: z
        .number()
        .positive("must be greater than 0 (omit rateLimit for the default of 50 reads/s, burst 100)")
        .optional(),
      burst: z.number().int().min(1).optional(),
    })
    .optional(),
  conditions: z
    .array(
      z.strictObject({
        namespaces: z.array(z.string()).optional(),
        namespaceSelector: z
          .strictObject({
            matchLabels: stringMap.optional(),
            matchExpressions: z
              .array(
                z.strictObject({
                  key: z.string(),
                  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
                  values: z.array(z.string()).optional(),
                }),
              )
              .optional(),
          })
          .optional(),
      }),
    )
    .optional(),
});

/** `root.a[0].b`; with an empty root `a[0].b`, or `(top)` for the document itself. */
function fieldPath(root: string, path: readonly PropertyKey[]): string {
  const tail = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  return root ? root + tail : tail.replace(/^\./, "") || "(top)";
}

/**
 * The first `limit` problems of a failed parse, each naming its field under
 * `root` (`spec.data[0].remoteRef.proprety: unknown field`). Unknown fields
 * come first: a typo usually explains the "required" error next to it.
 */
export function describeIssues(error: z.ZodError, root: string, limit = 3): string {
  return issueList(error, root).slice(0, limit).join("; ");
}

/** Every problem of a failed parse, one `path: message` each, unknown fields first. */
export function issueList(error: z.ZodError, root: string): string[] {
  const unknown: string[] = [];
  const other: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) unknown.push(`${fieldPath(root, [...issue.path, key])}: unknown field`);
    } else other.push(`${fieldPath(root, issue.path)}: ${issue.message}`);
  }
  return [...unknown, ...other];
}

function fail(error: z.ZodError): never {
  throw new InvalidSpecError(describeIssues(error, "spec"));
}

const NO_DATA = "spec: set data, dataFrom or target.template.data";
const readsNothing = (spec: ExternalSecretSpec): boolean =>
  !spec.data?.length && !spec.dataFrom?.length && !spec.target?.template?.data;

export function validateExternalSecretSpec(spec: unknown): ExternalSecretSpec {
  const result = externalSecretSpecSchema.safeParse(spec);
  if (!result.success) fail(result.error);
  const parsed = result.data as ExternalSecretSpec;
  if (readsNothing(parsed)) throw new InvalidSpecError(NO_DATA);
  return parsed;
}

export function validateStoreSpec(spec: unknown): SecretStoreSpec {
  const result = storeSpecSchema.safeParse(spec);
  if (!result.success) fail(result.error);
  return result.data as SecretStoreSpec;
}

/**
 * Every problem validateExternalSecretSpec would report, not only the first
 * few, one `path: message` each; empty when the spec is valid.
 */
export function externalSecretSpecProblems(spec: unknown): string[] {
  const result = externalSecretSpecSchema.safeParse(spec);
  if (!result.success) return issueList(result.error, "spec");
  return readsNothing(result.data as ExternalSecretSpec) ? [NO_DATA] : [];
}

/** Every problem validateStoreSpec would report (the provider's own section is the provider's to check). */
export function storeSpecProblems(spec: unknown): string[] {
  const result = storeSpecSchema.safeParse(spec);
  return result.success ? [] : issueList(result.error, "spec");
}
