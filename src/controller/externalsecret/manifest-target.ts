/**
 * ESO's generic targets (`spec.target.manifest`): instead of a Secret, an
 * object of the kind the manifest names (a ConfigMap, a custom resource) in
 * the ExternalSecret's namespace. It is written as the Secret is, by
 * target.ts: server-side apply as `refsync`, the same labels, hash
 * annotations, ownership and takeover rules. Its content goes where ESO puts
 * it:
 * - without a template, the values read, as text: a ConfigMap's `data`, or
 *   `spec.data` of any other kind;
 * - with a template, the keys template.data and templateFrom render into the
 *   object's top-level `data` (whatever its kind; another kind than a
 *   ConfigMap also gets an empty `spec`, as ESO gives it), with Labels and
 *   Annotations targets into its metadata; template.metadata is copied as
 *   written (ESO does not render it for such a target);
 * - a templateFrom literal whose target is a path (`spec.database`,
 *   `spec.rules[0].from`) renders YAML set at that path: merged into a map
 *   already there when the path has several steps, replacing it otherwise,
 *   missing maps and list items created on the way (ESO's path targets).
 * Only namespaced kinds the API server serves. The caller checks ESO's
 * opt-in (--unsafe-allow-generic-targets); the RBAC to write the kind is the
 * operator's to grant (the Helm chart's genericTargets values), and a
 * refusal says so.
 */
import { parse as parseYaml } from "yaml";
import { TEMPLATE_TARGETS } from "../../api/schema.ts";
import { FIELD_MANAGER, type ExternalSecretTarget } from "../../api/v1alpha1.ts";
import { AccessDeniedError, InvalidSpecError, KubeApiError, TargetConflictError } from "../../errors.ts";
import { isNotFound, type KubeClient } from "../../kube/client.ts";
import { apiVersionOf, type ResourceType } from "../../kube/resources.ts";
import { renderTemplates } from "../../template/engine.ts";
import type { ExternalSecret } from "../../api/v1alpha1.ts";
import { applyTemplate, type TemplatedSecret, type TemplateSources } from "./secret-template.ts";
import { containsAll, sameTargetMetadata, targetMetadata, targetName, type TargetObject } from "./target.ts";

export type ManifestReference = NonNullable<ExternalSecretTarget["manifest"]>;

export interface ManifestObject extends TargetObject {
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

/** What a manifest target gets: keys and metadata as a Secret's, and values at paths. */
export interface ManifestContent extends TemplatedSecret {
  paths: { path: string; field: string; value: unknown }[];
}

/** ESO's limit on a list index in a path. */
const MAX_INDEX = 10_000;

/** A path's steps: map keys and list indexes (the schema checked its shape). */
function steps(path: string, field: string): (string | number)[] {
  return path.split(".").flatMap((segment) => {
    const [name = "", ...indexes] = segment.split("[");
    return [
      name,
      ...indexes.map((i) => {
        const index = Number(i.slice(0, -1));
        if (index > MAX_INDEX) throw new InvalidSpecError(`${field}: index ${index} is over ${MAX_INDEX}`);
        return index;
      }),
    ];
  });
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `node` with `value` at `at` (a new node; `node` is not changed), as ESO's path targets set it. */
function setAt(
  node: unknown,
  at: (string | number)[],
  value: unknown,
  merge: boolean,
  field: string,
): unknown {
  const [step, ...rest] = at;
  if (step === undefined) return merge && isMap(node) && isMap(value) ? { ...node, ...value } : value;
  if (typeof step === "number") {
    if (node != null && !Array.isArray(node))
      throw new InvalidSpecError(`${field}: expected a list at index ${step}`);
    const list: unknown[] = [...((node as unknown[] | null | undefined) ?? [])];
    while (list.length <= step) list.push(null);
    list[step] = setAt(list[step], rest, value, merge, field);
    return list;
  }
  if (node != null && !isMap(node)) throw new InvalidSpecError(`${field}: expected a map at "${step}"`);
  const map: Record<string, unknown> = { ...(node ?? {}) };
  map[step] = setAt(map[step], rest, value, merge, field);
  return map;
}

function getAt(node: unknown, at: (string | number)[]): unknown {
  return at.reduce<unknown>(
    (n, step) =>
      typeof step === "number" ? (Array.isArray(n) ? n[step] : undefined) : isMap(n) ? n[step] : undefined,
    node,
  );
}

/** Everything `want` holds is in `have` (maps may hold more). */
function holds(want: unknown, have: unknown): boolean {
  if (isMap(want)) return isMap(have) && Object.entries(want).every(([k, v]) => holds(v, have[k]));
  if (Array.isArray(want))
    return Array.isArray(have) && have.length === want.length && want.every((v, i) => holds(v, have[i]));
  return want === have || (want === null && have === undefined);
}

/** The error that makes a refused request actionable: which verb, which resource, where, and how to grant it. */
function denied(err: unknown, verb: string, type: ResourceType, namespace: string): unknown {
  if (!(err instanceof KubeApiError) || (err.status !== 401 && err.status !== 403)) return err;
  const resource = type.group ? `${type.plural}.${type.group}` : type.plural;
  return new AccessDeniedError(
    `the controller may not ${verb} ${resource} in namespace "${namespace}" (HTTP ${err.status}): grant it (Helm: genericTargets.enabled, genericTargets.resources)`,
  );
}

/** The resource type of each manifest kind, from the API server's discovery (one request per kind, then kept). */
export class ManifestTypes {
  readonly #kube: KubeClient;
  readonly #known = new Map<string, ResourceType>();

  constructor(kube: KubeClient) {
    this.#kube = kube;
  }

  async of(manifest: ManifestReference, signal?: AbortSignal): Promise<ResourceType> {
    const { apiVersion, kind } = manifest;
    const key = `${apiVersion}/${kind}`;
    const known = this.#known.get(key);
    if (known) return known;
    const slash = apiVersion.indexOf("/");
    const group = slash < 0 ? "" : apiVersion.slice(0, slash);
    const version = apiVersion.slice(slash + 1);
    let served: { resources?: { name: string; kind: string; namespaced: boolean }[] };
    try {
      served = await this.#kube.request("GET", group ? `/apis/${group}/${version}` : `/api/${version}`, {
        signal,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      served = {};
    }
    // A CRD installed later serves it then: retried, not stalled.
    const found = served.resources?.find((r) => r.kind === kind && !r.name.includes("/"));
    if (!found)
      throw new TargetConflictError(
        `spec.target.manifest: the API server serves no kind ${kind} in ${apiVersion}`,
      );
    if (!found.namespaced)
      throw new InvalidSpecError(
        `spec.target.manifest: ${kind} is cluster-scoped; a target is an object in the ExternalSecret's namespace`,
      );
    const type: ResourceType = { group, version, plural: found.name, kind, namespaced: true };
    this.#known.set(key, type);
    return type;
  }
}

/** The target object as it is, or undefined when it does not exist. */
export async function currentManifest(
  kube: KubeClient,
  type: ResourceType,
  es: ExternalSecret,
  signal?: AbortSignal,
): Promise<ManifestObject | undefined> {
  const namespace = es.metadata.namespace as string;
  try {
    return await kube.get<ManifestObject>(type, namespace, targetName(es), signal);
  } catch (err) {
    throw denied(err, "get", type, namespace);
  }
}

/** The keys, metadata and path values to write, from the values read, as ESO's generic targets take them. */
export async function templateManifest(
  template: ExternalSecretTarget["template"],
  values: Record<string, Uint8Array>,
  sources: TemplateSources,
): Promise<ManifestContent> {
  if (!template) return { ...(await applyTemplate(undefined, values, sources)), paths: [] };
  const { metadata, templateFrom = [], ...rest } = template;
  const isPath = (target: string | undefined) =>
    target !== undefined && !(TEMPLATE_TARGETS as readonly string[]).includes(target);
  // Path items render here; left as empty items, the others keep their index in messages.
  const standard = templateFrom.map((item) => (isPath(item.target) ? {} : item));
  const content = await applyTemplate({ ...rest, templateFrom: standard }, values, sources);
  const engine = template.engineVersion ?? "v1";
  const paths = templateFrom.flatMap((item, i) => {
    if (!isPath(item.target) || item.literal === undefined) return [];
    const field = `spec.target.template.templateFrom[${i}].literal`;
    const rendered = renderTemplates({ literal: item.literal }, values, engine, () => field).literal;
    let value: unknown;
    try {
      value = parseYaml(Buffer.from(rendered ?? new Uint8Array()).toString("utf8"));
    } catch {
      throw new InvalidSpecError(`${field}: the rendered template is not YAML`);
    }
    return [{ path: item.target as string, field, value: value ?? null }];
  });
  return {
    data: content.data,
    labels: { ...metadata?.labels, ...content.labels },
    annotations: { ...metadata?.annotations, ...content.annotations },
    paths,
  };
}

/** What the data hash covers: the keys, and each path's value. */
export function manifestHashInput(content: ManifestContent): Record<string, Uint8Array> {
  const input = { ...content.data };
  for (const { path, value } of content.paths)
    input[`\0${path}`] = new TextEncoder().encode(JSON.stringify(value));
  return input;
}

export function desiredManifest(
  es: ExternalSecret,
  type: ResourceType,
  content: ManifestContent,
  hash: string,
): ManifestObject {
  const text = Object.fromEntries(
    Object.entries(content.data).map(([k, v]) => [k, Buffer.from(v).toString("utf8")]),
  );
  const object: ManifestObject = {
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    metadata: targetMetadata(es, content, hash),
  };
  // As ESO, any kind but a ConfigMap gets a spec, even when the keys go to its top-level data.
  if (type.kind !== "ConfigMap") object.spec = {};
  // ESO sets a key at a time: a templated object other than a ConfigMap has a data field only with keys.
  if (type.kind === "ConfigMap") object.data = text;
  else if (!es.spec.target?.template) object.spec = { data: text };
  else if (Object.keys(text).length > 0) object.data = text;
  let built: unknown = object;
  for (const { path, field, value } of content.paths) {
    const at = steps(path, field);
    built = setAt(built, at, value, at.length > 1, field);
  }
  return built as ManifestObject;
}

/** The string map a manifest object's keys live in (`data`, or `spec.data`, as `desired` has them). */
function keysOf(object: ManifestObject, like: ManifestObject): Record<string, string> | undefined {
  if (!like.spec) return object.data;
  const data = object.spec?.data;
  return typeof data === "object" && data !== null ? (data as Record<string, string>) : undefined;
}

/** True when `existing` already carries everything `desired` says (nothing to write), at its keys and `paths`. */
export function isManifestUpToDate(
  existing: ManifestObject | undefined,
  desired: ManifestObject,
  paths: ManifestContent["paths"],
): boolean {
  if (!existing || !sameTargetMetadata(existing, desired)) return false;
  if (!containsAll(keysOf(desired, desired), keysOf(existing, desired))) return false;
  return paths.every(({ path, field }) => {
    const at = steps(path, field);
    return holds(getAt(desired, at), getAt(existing, at));
  });
}

export async function applyManifest(
  kube: KubeClient,
  type: ResourceType,
  object: ManifestObject,
  signal?: AbortSignal,
): Promise<ManifestObject> {
  try {
    return await kube.apply<ManifestObject>(type, object, {
      fieldManager: FIELD_MANAGER,
      force: true,
      signal,
    });
  } catch (err) {
    throw denied(err, "write", type, object.metadata.namespace);
  }
}
