/**
 * Per-key change detection. Next to the whole-data hash, the target Secret
 * carries an HMAC of every key (the same keyed hash, never a value), the
 * time its data last changed and the names of the keys that change touched,
 * so any replica, after any restart, can tell which keys a write changed and
 * which pods started before it.
 */
import {
  ANNOTATION_CHANGED_AT,
  ANNOTATION_CHANGED_KEYS,
  ANNOTATION_DATA_HASH,
  ANNOTATION_KEY_HASHES,
} from "../../api/v1alpha1.ts";
import { dataHash } from "../hash.ts";

interface Annotated {
  metadata: { annotations?: Record<string, string> };
}

/** Key name → HMAC of that key's value alone. */
export function keyHashes(hashKey: Uint8Array, data: Record<string, Uint8Array>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((k) => [k, dataHash(hashKey, "", { [k]: data[k] as Uint8Array }).slice(0, 16)]),
  );
}

/**
 * Adds the per-key hashes and the change time to `desired`. The change time
 * moves only when the data hash does, so an unchanged Secret stays up to date.
 */
export function annotateKeyHashes(
  desired: Annotated,
  previous: Annotated | undefined,
  hashKey: Uint8Array,
  data: Record<string, Uint8Array>,
  now = new Date(),
): void {
  const annotations = (desired.metadata.annotations ??= {});
  annotations[ANNOTATION_KEY_HASHES] = JSON.stringify(keyHashes(hashKey, data));
  const before = previous?.metadata.annotations;
  if (!before) return; // created: nothing ran with older data
  if (before[ANNOTATION_DATA_HASH] !== annotations[ANNOTATION_DATA_HASH]) {
    annotations[ANNOTATION_CHANGED_AT] = now.toISOString();
    const changed = changedKeys(previous, desired);
    if (changed) annotations[ANNOTATION_CHANGED_KEYS] = changed.join(",");
    return;
  }
  for (const carried of [ANNOTATION_CHANGED_AT, ANNOTATION_CHANGED_KEYS]) {
    const value = before[carried];
    if (value !== undefined) annotations[carried] = value;
  }
}

/** Keys added, removed or changed between two versions; undefined when the older one has no per-key hashes (treat as all). */
export function changedKeys(previous: Annotated | undefined, current: Annotated): string[] | undefined {
  const before = parse(previous?.metadata.annotations?.[ANNOTATION_KEY_HASHES]);
  const after = parse(current.metadata.annotations?.[ANNOTATION_KEY_HASHES]);
  if (!before || !after) return undefined;
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((k) => before[k] !== after[k]).sort();
}

function parse(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return undefined;
  }
}
