/**
 * Finds the objects that were rendered inline: those carrying the
 * refsync.dev/refs annotation (references and a digest of the versions read,
 * never a value; format in src/render/annotation.ts). Lists ask for metadata
 * only (PartialObjectMetadataList), so no Secret's data ever reaches the
 * controller this way, and a page costs what its metadata costs.
 */
import { ANNOTATION_REFS } from "../../api/v1alpha1.ts";
import { parseRefsAnnotation } from "../../render/annotation.ts";
import type { Reference } from "../../refs/reference.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { ResourceType } from "../../kube/resources.ts";

export interface InlineObject {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  refs: Reference[];
  /** The digest of the versions the plugin read when it rendered the object. */
  digest: string;
}

export interface ScanResult {
  objects: InlineObject[];
  /** Objects whose annotation does not parse: reported, never acted on. */
  invalid: { object: string; error: string }[];
}

export async function findInlineObjects(
  kube: KubeClient,
  types: ResourceType[],
  options: { namespace?: string; labelSelector?: string; signal?: AbortSignal },
): Promise<ScanResult> {
  const result: ScanResult = { objects: [], invalid: [] };
  for (const type of types) {
    for await (const item of kube.listMetadata(type, options)) {
      const text = item.metadata.annotations?.[ANNOTATION_REFS];
      if (text === undefined) continue;
      const where = `${type.kind} ${item.metadata.namespace ?? ""}/${item.metadata.name}`;
      try {
        const { refs, digest } = parseRefsAnnotation(text);
        result.objects.push({
          kind: type.kind,
          namespace: item.metadata.namespace ?? "",
          name: item.metadata.name,
          uid: item.metadata.uid ?? "",
          labels: item.metadata.labels ?? {},
          annotations: item.metadata.annotations ?? {},
          refs,
          digest,
        });
      } catch (err) {
        result.invalid.push({ object: where, error: (err as Error).message });
      }
    }
  }
  return result;
}
