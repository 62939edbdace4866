/**
 * Validation of the specs the controller acts on, with the zod schemas of
 * ./schema.ts (which also generate the CRDs and give the types). The CRD
 * schemas already reject most bad input at the API server; these catch what
 * OpenAPI cannot express (durations, regular expressions, one-of, unknown
 * fields: the CRDs keep them, see manifests/crds) and objects written before
 * the CRDs were installed. Every object is strict: an unknown field is an
 * error, never dropped. Errors are InvalidSpecError naming the field path.
 */
import type { z } from "zod";
import { InvalidSpecError } from "../errors.ts";
import { DURATION, durationMs } from "./duration.ts";
import { clusterExternalSecretSpecSchema, externalSecretSpecSchema, storeSpecSchema } from "./schema.ts";
import { storelessEntries } from "./store-refs.ts";
import type { ClusterExternalSecretSpec, ExternalSecretSpec, SecretStoreSpec } from "./v1alpha1.ts";

export { externalSecretSpecSchema, storeSpecSchema };

/** Go-style durations (`1h`, `15m`, `1h30m`, `500ms`) to milliseconds. */
export function parseDuration(value: string): number {
  if (!DURATION.test(value)) throw new InvalidSpecError(`"${value}" is not a duration (like 1h, 15m, 30s)`);
  return durationMs(value);
}

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

/**
 * What the schema cannot say: the spec reads something, and every entry has a store to read
 * from (ESO accepts a store-less entry and fails each sync on it: `could not get SecretStore ""`).
 */
function specProblems(spec: ExternalSecretSpec, root: string): string[] {
  if (readsNothing(spec))
    return [`${root}: set data, dataFrom, target.template.data or target.template.templateFrom`];
  return storelessEntries(spec).map(
    (at) => `${root}.${at}: names no store: set ${root}.secretStoreRef, or sourceRef.storeRef on the entry`,
  );
}
const readsNothing = (spec: ExternalSecretSpec): boolean =>
  !spec.data?.length &&
  !spec.dataFrom?.length &&
  !spec.target?.template?.data &&
  !spec.target?.template?.templateFrom?.length;

export function validateExternalSecretSpec(spec: unknown): ExternalSecretSpec {
  const result = externalSecretSpecSchema.safeParse(spec);
  if (!result.success) fail(result.error);
  const parsed = result.data;
  const problems = specProblems(parsed, "spec");
  if (problems.length) throw new InvalidSpecError(problems.slice(0, 3).join("; "));
  return parsed;
}

export function validateStoreSpec(spec: unknown): SecretStoreSpec {
  const result = storeSpecSchema.safeParse(spec);
  if (!result.success) fail(result.error);
  return result.data;
}

/**
 * Every problem validateExternalSecretSpec would report, not only the first
 * few, one `path: message` each; empty when the spec is valid.
 */
export function externalSecretSpecProblems(spec: unknown): string[] {
  const result = externalSecretSpecSchema.safeParse(spec);
  if (!result.success) return issueList(result.error, "spec");
  return specProblems(result.data, "spec");
}

/** Every problem of a ClusterExternalSecret's spec, one `path: message` each; empty when it is valid. */
export function clusterExternalSecretSpecProblems(spec: unknown): string[] {
  const result = clusterExternalSecretSpecSchema.safeParse(spec);
  if (!result.success) return issueList(result.error, "spec");
  return specProblems(result.data.externalSecretSpec, "spec.externalSecretSpec");
}

export function validateClusterExternalSecretSpec(spec: unknown): ClusterExternalSecretSpec {
  const result = clusterExternalSecretSpecSchema.safeParse(spec);
  if (!result.success) fail(result.error);
  const problems = specProblems(result.data.externalSecretSpec, "spec.externalSecretSpec");
  if (problems.length) throw new InvalidSpecError(problems.slice(0, 3).join("; "));
  return result.data;
}

/** Every problem validateStoreSpec would report (the provider's own section is the provider's to check). */
export function storeSpecProblems(spec: unknown): string[] {
  const result = storeSpecSchema.safeParse(spec);
  return result.success ? [] : issueList(result.error, "spec");
}
