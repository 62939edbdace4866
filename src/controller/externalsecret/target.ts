/**
 * The target Secret: what it should look like, whether it already does, and
 * writing it with server-side apply as field manager `refsync`. Owner adds a
 * controller ownerReference; Merge writes only our keys into a Secret someone
 * else created (and refuses to create one); Orphan creates without owner.
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
import { TargetConflictError } from "../../errors.ts";
import { resourceTypes } from "../../kube/resources.ts";
import { type KubeClient } from "../../kube/client.ts";

export interface SecretObject {
  apiVersion: "v1";
  kind: "Secret";
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  type?: string;
  data?: Record<string, string>;
}

export function targetName(es: ExternalSecret): string {
  return es.spec.target?.name || es.metadata.name;
}

export function desiredSecret(
  es: ExternalSecret,
  data: Record<string, Uint8Array>,
  hash: string,
): SecretObject {
  const policy = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
  const template = es.spec.target?.template;
  const secret: SecretObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: targetName(es),
      namespace: es.metadata.namespace as string,
      labels: { ...template?.metadata?.labels, [LABEL_MANAGED_BY]: MANAGED_BY },
      annotations: {
        ...template?.metadata?.annotations,
        [ANNOTATION_DATA_HASH]: hash,
        [ANNOTATION_EXTERNAL_SECRET]: es.metadata.name,
      },
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
  // The type of an existing Secret is immutable and not ours to set when merging.
  if (policy !== "Merge") secret.type = template?.type ?? "Opaque";
  if (policy === "Owner") {
    secret.metadata.ownerReferences = [
      {
        apiVersion: es.apiVersion,
        kind: "ExternalSecret",
        name: es.metadata.name,
        uid: es.metadata.uid as string,
        controller: true,
      },
    ];
  }
  return secret;
}

/** True when `existing` already carries everything `desired` says (nothing to write). */
export function isUpToDate(existing: SecretObject | undefined, desired: SecretObject): boolean {
  if (!existing) return false;
  const subset = (want: Record<string, string> | undefined, have: Record<string, string> | undefined) =>
    Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
  if (!subset(desired.metadata.labels, existing.metadata.labels)) return false;
  if (!subset(desired.metadata.annotations, existing.metadata.annotations)) return false;
  if (desired.type !== undefined && (existing.type ?? "Opaque") !== desired.type) return false;
  const owner = desired.metadata.ownerReferences?.[0];
  if (owner && !existing.metadata.ownerReferences?.some((o) => o.uid === owner.uid)) return false;
  // The hash annotation covers the data only if nobody edited the data behind our back.
  const keys = Object.keys(desired.data ?? {});
  return keys.every((k) => existing.data?.[k] === desired.data?.[k]);
}

/** Refuses to take over a Secret another controller owns (Owner) or to create one (Merge). */
export function checkTakeover(es: ExternalSecret, existing: SecretObject | undefined): void {
  const policy = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
  const name = targetName(es);
  if (policy === "Merge" && !existing) {
    throw new TargetConflictError(
      `target Secret "${name}" does not exist (creationPolicy Merge only adds to an existing Secret)`,
    );
  }
  if (policy === "Owner" && existing) {
    const controller = existing.metadata.ownerReferences?.find((o) => o.controller);
    if (controller && controller.uid !== es.metadata.uid) {
      throw new TargetConflictError(
        `target Secret "${name}" is already owned by ${controller.kind} "${controller.name}"`,
      );
    }
  }
}

export function applySecret(
  client: KubeClient,
  secret: SecretObject,
  signal?: AbortSignal,
): Promise<SecretObject> {
  return client.apply<SecretObject>(resourceTypes.secret, secret, {
    fieldManager: FIELD_MANAGER,
    force: true,
    signal,
  });
}
