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
 *   written (ESO does not render it for such a target).
 * Only namespaced kinds the API server serves. The caller checks ESO's
 * opt-in (--unsafe-allow-generic-targets); the RBAC to write the kind is the
 * operator's to grant (the Helm chart's genericTargets values), and a
 * refusal says so.
 */
import { FIELD_MANAGER, type ExternalSecretTarget } from "../../api/v1alpha1.ts";
import { AccessDeniedError, InvalidSpecError, KubeApiError, TargetConflictError } from "../../errors.ts";
import { isNotFound, type KubeClient } from "../../kube/client.ts";
import { apiVersionOf, type ResourceType } from "../../kube/resources.ts";
import type { ExternalSecret } from "../../api/v1alpha1.ts";
import { applyTemplate, type TemplatedSecret, type TemplateSources } from "./secret-template.ts";
import { containsAll, sameTargetMetadata, targetMetadata, targetName, type TargetObject } from "./target.ts";

export type ManifestReference = NonNullable<ExternalSecretTarget["manifest"]>;

export interface ManifestObject extends TargetObject {
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
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

/** The keys and metadata to write, from the values read, as ESO's generic targets take them. */
export async function templateManifest(
  template: ExternalSecretTarget["template"],
  values: Record<string, Uint8Array>,
  sources: TemplateSources,
): Promise<TemplatedSecret> {
  if (!template) return applyTemplate(undefined, values, sources);
  const { metadata, ...rendered } = template;
  const content = await applyTemplate(rendered, values, sources);
  return {
    data: content.data,
    labels: { ...metadata?.labels, ...content.labels },
    annotations: { ...metadata?.annotations, ...content.annotations },
  };
}

export function desiredManifest(
  es: ExternalSecret,
  type: ResourceType,
  content: TemplatedSecret,
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
  if (es.spec.target?.template || type.kind === "ConfigMap") object.data = text;
  else object.spec = { data: text };
  return object;
}

/** The string map a manifest object's keys live in (`data`, or `spec.data`, as `desired` has them). */
function keysOf(object: ManifestObject, like: ManifestObject): Record<string, string> | undefined {
  if (!like.spec) return object.data;
  const data = object.spec?.data;
  return typeof data === "object" && data !== null ? (data as Record<string, string>) : undefined;
}

/** True when `existing` already carries everything `desired` says (nothing to write). */
export function isManifestUpToDate(existing: ManifestObject | undefined, desired: ManifestObject): boolean {
  if (!existing || !sameTargetMetadata(existing, desired)) return false;
  return containsAll(keysOf(desired, desired), keysOf(existing, desired));
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
