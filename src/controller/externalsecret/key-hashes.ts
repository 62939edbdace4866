/**
 * Per-key change detection. A write compares the new data with the bytes of
 * the Secret as it is, key by key, to name the keys it changes. Next to the
 * whole-data hash, the target Secret carries an HMAC of every key (the same
 * keyed hash, never a value), the time its data last changed and the names
 * of the keys that change touched, so any replica, after any restart, can
 * tell which keys the last change touched and which pods started before it.
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

/** A Secret as written: annotations and base64 data. */
interface SecretLike extends Annotated {
  data?: Record<string, string>;
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
 * Adds the per-key hashes and the change time to `desired` and returns the
 * keys whose bytes change (undefined: the Secret is created). What changed
 * is decided from the bytes of the Secret as it is, never from hashes: a new
 * HMAC key (the key Secret deleted, the controller installed into another
 * namespace) changes every hash and no value. Hashes made with another key
 * are simply recomputed: the change time and keys stay those of the last
 * real change, and `changed-keys` is dropped, since the restart marks of its
 * consumers name the old hash (a new leader must not restart them again).
 * `ownsAll`: every key of the existing Secret is ours (not creationPolicy Merge).
 */
export function annotateKeyHashes(
  desired: SecretLike,
  previous: SecretLike | undefined,
  hashKey: Uint8Array,
  data: Record<string, Uint8Array>,
  now = new Date(),
  ownsAll = true,
): string[] | undefined {
  const annotations = (desired.metadata.annotations ??= {});
  annotations[ANNOTATION_KEY_HASHES] = JSON.stringify(keyHashes(hashKey, data));
  if (!previous) return undefined; // created: nothing ran with older data
  const changed = changedKeys(previous, desired, ownsAll);
  if (changed.length > 0) {
    annotations[ANNOTATION_CHANGED_AT] = now.toISOString();
    annotations[ANNOTATION_CHANGED_KEYS] = changed.join(",");
    return changed;
  }
  const before = previous.metadata.annotations ?? {};
  const rehashed = before[ANNOTATION_DATA_HASH] !== annotations[ANNOTATION_DATA_HASH];
  for (const carried of rehashed
    ? [ANNOTATION_CHANGED_AT]
    : [ANNOTATION_CHANGED_AT, ANNOTATION_CHANGED_KEYS]) {
    const value = before[carried];
    if (value !== undefined) annotations[carried] = value;
  }
  return changed;
}

/**
 * Keys added, removed or changed from `previous` (the Secret as it is) to
 * `current` (what will be written), by their bytes. Removed: keys the
 * previous write put there (its key-hashes annotation names them; without
 * it, every key when `ownsAll`) that `current` no longer has.
 */
export function changedKeys(previous: SecretLike, current: SecretLike, ownsAll = true): string[] {
  const ours =
    parse(previous.metadata.annotations?.[ANNOTATION_KEY_HASHES]) ?? (ownsAll ? previous.data : undefined);
  const names = new Set([...Object.keys(current.data ?? {}), ...Object.keys(ours ?? {})]);
  return [...names].filter((k) => previous.data?.[k] !== current.data?.[k]).sort();
}

function parse(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, string>)
      : undefined;
  } catch {
    return undefined;
  }
}
