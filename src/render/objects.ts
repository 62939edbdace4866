/**
 * Strict validation of `refsync.dev` objects outside the cluster: the plugin
 * checks every one it emits (generated or passed through) and
 * `refsync validate` every one it reads, with the schemas the controller
 * uses, including each store's provider section parsed by the provider's own
 * schema. The API server would prune an unknown field silently (structural
 * CRD schemas), so a typo such as `remoteRef.proprety` must be caught here.
 * Problems name the field path, never a value.
 */
import { convertEsoObject, isEsoObject } from "../api/eso.ts";
import { generatorSpecOf, type GeneratorSpec } from "../api/generator-spec.ts";
import {
  GENERATOR_KINDS,
  GENERATOR_PROVIDER_SECTIONS,
  GENERATORS_API_VERSION,
  GENERATORS_GROUP,
  isGeneratorKind,
} from "../api/generators.ts";
import { ANNOTATION_CONVERSION_NOTES, API_VERSION, GROUP } from "../api/v1alpha1.ts";
import {
  clusterExternalSecretSpecProblems,
  externalSecretSpecProblems,
  issueList,
  storeSpecProblems,
} from "../api/validate.ts";
import { RefsyncError } from "../errors.ts";
import { providerBySpecKey, providerForSpec } from "../providers/registry.ts";
// refs/index.ts: where formatLocation is found before and after errors moved to src/errors.ts.
import { formatLocation, objectName } from "../refs/index.ts";

const KINDS = ["ExternalSecret", "SecretStore", "ClusterSecretStore", "ClusterExternalSecret"];
/** What a custom resource holds at its top level; anything else the API server would prune. */
const TOP_LEVEL = new Set(["apiVersion", "kind", "metadata", "spec", "status"]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** True for an object of the refsync.dev API groups, generators.refsync.dev included (any version or kind). */
export function isRefsyncObject(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value.apiVersion === "string" &&
    (value.apiVersion.startsWith(`${GROUP}/`) || value.apiVersion.startsWith(`${GENERATORS_GROUP}/`))
  );
}

/** The problems of a generators.refsync.dev object (its spec, by kind). */
function generatorProblems(object: Record<string, unknown>): string[] {
  if (object.apiVersion !== GENERATORS_API_VERSION)
    return [`apiVersion: ${GENERATORS_GROUP} serves only ${GENERATORS_API_VERSION}`];
  const kind = typeof object.kind === "string" ? object.kind : "";
  if (!isGeneratorKind(kind) && kind !== "ClusterGenerator")
    return [`kind: refsync has no ${kind || "(unset)"} generator`];
  const problems = Object.keys(object)
    .filter((key) => !TOP_LEVEL.has(key))
    .map((key) => `${key}: unknown field`);
  try {
    problems.push(...generatorProviderProblems(generatorSpecOf(kind, object.spec), kind));
  } catch (err) {
    if (!(err instanceof RefsyncError && err.reason === "InvalidSpec")) throw err;
    problems.push(err.message);
  }
  return problems;
}

/**
 * A generator's `provider` (a VaultDynamicSecret's), parsed by that provider's schema as the
 * controller parses it when the generator runs, less the fields that mean nothing there.
 */
export function generatorProviderProblems(generator: GeneratorSpec, kind: string): string[] {
  const uses = GENERATOR_PROVIDER_SECTIONS[generator.kind];
  const factory = uses && providerBySpecKey(uses.section);
  if (!uses || !factory) return [];
  const provider = (generator.spec as { provider?: Record<string, unknown> }).provider ?? {};
  const at =
    kind === "ClusterGenerator"
      ? `spec.generator.${GENERATOR_KINDS[generator.kind].specKey}.provider`
      : "spec.provider";
  const problems = uses.without
    .filter((field) => provider[field] !== undefined)
    .map((field) => `${at}.${field}: no effect in a ${generator.kind}, which calls spec.path: leave it out`);
  const result = factory.specSchema().safeParse(provider);
  if (!result.success) problems.push(...issueList(result.error, at));
  return problems;
}

/** The problems of a store's `spec.provider` sections, each parsed by its provider's schema. */
function providerProblems(spec: unknown): string[] {
  const provider = isRecord(spec) && isRecord(spec.provider) ? spec.provider : undefined;
  if (!provider) return []; // the store schema names it
  const problems: string[] = [];
  const known = Object.fromEntries(Object.entries(provider).filter(([key]) => providerBySpecKey(key)));
  try {
    providerForSpec(known);
  } catch (err) {
    if (!(err instanceof RefsyncError && err.reason === "InvalidSpec")) throw err;
    problems.push(err.message);
  }
  for (const [key, section] of Object.entries(known)) {
    const factory = providerBySpecKey(key);
    if (!factory || section === undefined || section === null) continue;
    const result = factory.specSchema().safeParse(section);
    if (!result.success) problems.push(...issueList(result.error, `spec.provider.${key}`));
  }
  return problems;
}

/**
 * Every problem of one `refsync.dev` object, `path: message` each (empty
 * when valid, or when `value` is not a refsync.dev object).
 */
export function refsyncObjectProblems(value: unknown): string[] {
  if (!isRefsyncObject(value)) return [];
  const object = value as Record<string, unknown>;
  if (String(object.apiVersion).startsWith(`${GENERATORS_GROUP}/`)) return generatorProblems(object);
  if (object.apiVersion !== API_VERSION) return [`apiVersion: ${GROUP} serves only ${API_VERSION}`];
  if (typeof object.kind !== "string" || !KINDS.includes(object.kind)) {
    return [`kind: not a ${GROUP} kind (${KINDS.join(", ")})`];
  }
  const problems = Object.keys(object)
    .filter((key) => !TOP_LEVEL.has(key))
    .map((key) => `${key}: unknown field`);
  if (object.kind === "ExternalSecret") problems.push(...externalSecretSpecProblems(object.spec));
  else if (object.kind === "ClusterExternalSecret")
    problems.push(...clusterExternalSecretSpecProblems(object.spec));
  else problems.push(...storeSpecProblems(object.spec), ...providerProblems(object.spec));
  return problems;
}

export interface Located {
  file: string;
  /** Index of the document in its file or stream. */
  index: number;
  value: unknown;
}

/**
 * An external-secrets.io object as the refsync.dev object it converts to
 * (src/api/eso.ts), or each problem as `file: document N: Kind/name: path:
 * message`; undefined and no problem when it is not an ESO object. The
 * fields left out because ESO ignores them (PushSecret-only fields, the
 * unused one of a pair) are `notes`, `file: document N: Kind/name: path:
 * dropped (why)` each, and are listed in the object's
 * refsync.dev/conversion-notes annotation, where Argo CD's UI shows them.
 */
export function convertEsoDocument(doc: Located): {
  value?: Record<string, unknown>;
  errors: string[];
  notes: string[];
} {
  if (!isEsoObject(doc.value)) return { errors: [], notes: [] };
  const converted = convertEsoObject(doc.value);
  const where = formatLocation({ file: doc.file, document: doc.index, object: objectName(doc.value) });
  if (!converted.ok)
    return { errors: converted.problems.map((problem) => `${where}: ${problem}`), notes: [] };
  const notes = converted.dropped.map((d) => `${d.path}: dropped (${d.why})`);
  if (notes.length) {
    const metadata = converted.object.metadata as { annotations?: Record<string, string> };
    metadata.annotations = { ...metadata.annotations, [ANNOTATION_CONVERSION_NOTES]: notes.join("\n") };
  }
  return { value: converted.object, errors: [], notes: notes.map((note) => `${where}: ${note}`) };
}

/**
 * Checks every refsync.dev object among `documents`: how many there were,
 * and each problem as `file: document N: Kind/name: path: message`.
 */
export function checkObjects(documents: Iterable<Located>): { checked: number; errors: string[] } {
  let checked = 0;
  const errors: string[] = [];
  for (const doc of documents) {
    if (!isRefsyncObject(doc.value)) continue;
    checked++;
    const where = formatLocation({ file: doc.file, document: doc.index, object: objectName(doc.value) });
    errors.push(...refsyncObjectProblems(doc.value).map((problem) => `${where}: ${problem}`));
  }
  return { checked, errors };
}
