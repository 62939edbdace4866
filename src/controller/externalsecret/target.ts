/**
 * The target Secret: what it should look like, whether it already does, and
 * writing it with server-side apply as field manager `refsync`. Owner adds a
 * controller ownerReference; Merge writes only our keys into a Secret someone
 * else created (and refuses to create one); Orphan creates without owner;
 * CreateOrMerge creates without owner when missing, else merges as Merge.
 * `target.immutable` creates the Secret immutable; once it exists its data
 * stays as it is (ESO's semantics: the values read later are not written).
 */
import {
  ANNOTATION_DATA_HASH,
  ANNOTATION_EXTERNAL_SECRET,
  FIELD_MANAGER,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  defaults,
  type ExternalSecret,
} from "../../api/v1alpha1.ts";
import { ESO_GROUP } from "../../api/eso.ts";
import { KubeApiError, TargetConflictError } from "../../errors.ts";
import { resourceTypes } from "../../kube/resources.ts";
import { type KubeClient } from "../../kube/client.ts";
import { ARGOCD_TRACKING_LABEL } from "../freshness/owners.ts";

/** What refsync writes: a Secret, or the object target.manifest names (manifest-target.ts). */
export interface TargetObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    finalizers?: string[];
    deletionTimestamp?: string;
  };
}

export interface SecretObject extends TargetObject {
  apiVersion: "v1";
  kind: "Secret";
  type?: string;
  immutable?: boolean;
  data?: Record<string, string>;
}

export function targetName(es: ExternalSecret): string {
  return es.spec.target?.name || es.metadata.name;
}

/**
 * An immutable target that exists keeps its data (ESO's semantics): the bytes
 * to write are those it holds, all of them, or when merging those of the keys
 * this sync would write.
 */
export function keptData(
  es: ExternalSecret,
  existing: SecretObject | undefined,
  data: Record<string, Uint8Array>,
): Record<string, Uint8Array> {
  if (!es.spec.target?.immutable || !existing) return data;
  const all = ownsAllKeys(es);
  return Object.fromEntries(
    Object.entries(existing.data ?? {})
      .filter(([k]) => all || k in data)
      .map(([k, v]) => [k, new Uint8Array(Buffer.from(v, "base64"))]),
  );
}

/** Whether the Secret's keys are all this ExternalSecret's (not Merge or CreateOrMerge). */
export function ownsAllKeys(es: ExternalSecret): boolean {
  const policy = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
  return policy !== "Merge" && policy !== "CreateOrMerge";
}

/**
 * ESO's copy of the ExternalSecret's own labels and annotations, made only when
 * it has no `target.template` at all (a template, even one without metadata,
 * copies nothing). Deliberately without Argo CD's tracking label and its
 * `argocd.argoproj.io/` annotations: on a Secret without an owner reference
 * (Orphan, Merge, CreateOrMerge) Argo CD would take the Secret for one of the
 * Application's resources and prune it (docs/migrating-from-eso.md).
 */
function copiedMetadata(es: ExternalSecret): {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
} {
  if (es.spec.target?.template) return {};
  const keep = (map: Record<string, string> | undefined, drop: (key: string) => boolean) =>
    Object.fromEntries(Object.entries(map ?? {}).filter(([key]) => !drop(key)));
  return {
    labels: keep(es.metadata.labels, (key) => key === ARGOCD_TRACKING_LABEL),
    annotations: keep(es.metadata.annotations, (key) => key.startsWith("argocd.argoproj.io/")),
  };
}

/**
 * The target's metadata, whatever its kind: name, the copied or templated
 * labels and annotations, refsync's label and hash annotations, and with
 * creationPolicy Owner the ExternalSecret as controlling owner.
 */
export function targetMetadata(
  es: ExternalSecret,
  content: { labels: Record<string, string>; annotations: Record<string, string> },
  hash: string,
): TargetObject["metadata"] {
  const policy = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
  const copied = copiedMetadata(es);
  return {
    name: targetName(es),
    namespace: es.metadata.namespace as string,
    labels: { ...copied.labels, ...content.labels, [LABEL_MANAGED_BY]: MANAGED_BY },
    annotations: {
      ...copied.annotations,
      ...content.annotations,
      [ANNOTATION_DATA_HASH]: hash,
      [ANNOTATION_EXTERNAL_SECRET]: es.metadata.name,
    },
    ...(policy === "Owner" && {
      ownerReferences: [
        {
          apiVersion: es.apiVersion,
          kind: "ExternalSecret",
          name: es.metadata.name,
          uid: es.metadata.uid as string,
          controller: true,
        },
      ],
    }),
  };
}

export function desiredSecret(
  es: ExternalSecret,
  content: {
    data: Record<string, Uint8Array>;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  },
  hash: string,
  existing: SecretObject | undefined,
): SecretObject {
  const policy = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
  const template = es.spec.target?.template;
  const secret: SecretObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: targetMetadata(es, content, hash),
    data: Object.fromEntries(
      Object.entries(content.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    ),
  };
  // A set in server-side apply: others' finalizers stay. A Secret being deleted takes no new one, and
  // keeps those it has (leaving one out of the apply would remove it).
  const finalizers = (template?.metadata?.finalizers ?? []).filter(
    (f) => !existing?.metadata.deletionTimestamp || existing.metadata.finalizers?.includes(f),
  );
  if (finalizers.length > 0) secret.metadata.finalizers = finalizers;
  if (es.spec.target?.immutable) secret.immutable = true;
  // The type of an existing Secret is immutable and not ours to set when merging into it.
  if (policy === "CreateOrMerge") secret.type = template?.type ?? existing?.type ?? "Opaque";
  else if (policy !== "Merge") secret.type = template?.type ?? "Opaque";
  return secret;
}

/** Every entry of `want` is in `have`. */
export function containsAll(
  want: Record<string, string> | undefined,
  have: Record<string, string> | undefined,
): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
}

/** True when `existing`'s metadata already carries everything `desired`'s says (labels, annotations, finalizers, owner). */
export function sameTargetMetadata(existing: TargetObject, desired: TargetObject): boolean {
  if (!containsAll(desired.metadata.labels, existing.metadata.labels)) return false;
  if (!containsAll(desired.metadata.annotations, existing.metadata.annotations)) return false;
  if (desired.metadata.finalizers?.some((f) => !existing.metadata.finalizers?.includes(f))) return false;
  const owner = desired.metadata.ownerReferences?.[0];
  return !owner || existing.metadata.ownerReferences?.some((o) => o.uid === owner.uid) === true;
}

/** True when `existing` already carries everything `desired` says (nothing to write). */
export function isUpToDate(existing: SecretObject | undefined, desired: SecretObject): boolean {
  if (!existing || !sameTargetMetadata(existing, desired)) return false;
  if (desired.immutable && !existing.immutable) return false;
  if (desired.type !== undefined && (existing.type ?? "Opaque") !== desired.type) return false;
  // The hash annotation covers the data only if nobody edited the data behind our back.
  return containsAll(desired.data, existing.data);
}

/** Refuses to take over a target another controller owns (Owner) or to create one (Merge). */
export function checkTakeover(es: ExternalSecret, existing: TargetObject | undefined): void {
  const policy = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
  const name = targetName(es);
  const kind = es.spec.target?.manifest?.kind ?? "Secret";
  if (policy === "Merge" && !existing) {
    throw new TargetConflictError(
      `target ${kind} "${name}" does not exist (creationPolicy Merge only adds to an existing ${kind})`,
    );
  }
  if (policy === "Owner" && existing) {
    const controller = existing.metadata.ownerReferences?.find((o) => o.controller);
    if (controller && controller.uid !== es.metadata.uid) {
      const ns = es.metadata.namespace as string;
      throw new TargetConflictError(
        controller.apiVersion.startsWith(`${ESO_GROUP}/`)
          ? `target ${kind} "${name}" is still owned by ESO's ExternalSecret "${controller.name}": orphan-delete it to hand the ${kind} over (kubectl delete externalsecrets.${ESO_GROUP} ${controller.name} -n ${ns} --cascade=orphan)`
          : `target ${kind} "${name}" is already owned by ${controller.kind} "${controller.name}" (${controller.apiVersion}); refsync takes over only a ${kind} without a controlling owner`,
      );
    }
  }
}

/**
 * Writes the Secret. The API server's refusals that the spec explains become
 * one actionable line: a second controlling owner (the Secret was not in our
 * cache, so its owner was not checked before: it is read now and named), and
 * data written to an immutable Secret.
 */
export async function applySecret(
  client: KubeClient,
  es: ExternalSecret,
  secret: SecretObject,
  signal?: AbortSignal,
): Promise<SecretObject> {
  try {
    return await client.apply<SecretObject>(resourceTypes.secret, secret, {
      fieldManager: FIELD_MANAGER,
      force: true,
      signal,
    });
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status !== 422) throw err;
    const { name, namespace } = secret.metadata;
    if (/Only one reference can have Controller set to true/.test(err.message)) {
      checkTakeover(es, await client.get<SecretObject>(resourceTypes.secret, namespace, name, signal));
    } else if (/field is immutable when `immutable` is set/.test(err.message)) {
      throw new TargetConflictError(
        `target Secret "${name}" is immutable and its data would change: delete it to have it created again with the current values, or set spec.target.immutable to keep it as it is`,
      );
    }
    throw err;
  }
}
