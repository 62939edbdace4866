/**
 * Adding and removing one finalizer. The merge patch carries the resourceVersion the caller read:
 * `finalizers` is a list, which a merge patch replaces whole, so a list computed from a stale copy
 * would drop a finalizer another party added meanwhile. A newer version makes the patch a conflict
 * instead, and the work queue retries with the newer object.
 */
import type { KubeClient } from "./client.ts";
import type { ResourceType } from "./resources.ts";

interface Finalizable {
  metadata: { name: string; namespace?: string; resourceVersion?: string; finalizers?: string[] };
}

export function hasFinalizer(obj: Finalizable, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) === true;
}

export async function addFinalizer(
  kube: KubeClient,
  type: ResourceType,
  obj: Finalizable,
  finalizer: string,
  signal: AbortSignal,
): Promise<void> {
  if (hasFinalizer(obj, finalizer)) return;
  await writeFinalizers(kube, type, obj, [...(obj.metadata.finalizers ?? []), finalizer], signal);
}

export async function removeFinalizer(
  kube: KubeClient,
  type: ResourceType,
  obj: Finalizable,
  finalizer: string,
  signal: AbortSignal,
): Promise<void> {
  if (!hasFinalizer(obj, finalizer)) return;
  const rest = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  await writeFinalizers(kube, type, obj, rest, signal);
}

async function writeFinalizers(
  kube: KubeClient,
  type: ResourceType,
  obj: Finalizable,
  finalizers: string[],
  signal: AbortSignal,
): Promise<void> {
  const { name, namespace, resourceVersion } = obj.metadata;
  await kube.mergePatch(type, namespace, name, { metadata: { finalizers, resourceVersion } }, { signal });
}
