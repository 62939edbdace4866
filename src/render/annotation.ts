/**
 * The `refsync.dev/refs` annotation on objects rendered inline: which
 * references an object's values came from, and a digest of the versions
 * read — never a value. The controller's freshness check re-reads the
 * current versions, recomputes the digest, and asks for a refresh when it
 * differs. References are written with their store explicit.
 */
import { createHash } from "node:crypto";
import { ANNOTATION_REFS } from "../api/v1alpha1.ts";
import { formatReference, parseReference, type Reference } from "../refs/reference.ts";

export { ANNOTATION_REFS };

export interface VersionRead {
  store: string;
  key: string;
  /** The version the reference pinned, if any. */
  pinned?: string;
  /** The version the backend reported for what was read. */
  read?: string;
}

/** sha256 over the sorted, distinct (store, key, pinned, read) tuples. */
export function versionsDigest(reads: VersionRead[]): string {
  const lines = [
    ...new Set(reads.map((r) => JSON.stringify([r.store, r.key, r.pinned ?? null, r.read ?? null]))),
  ].sort();
  return `sha256:${createHash("sha256").update(lines.join("\n")).digest("hex")}`;
}

export interface RefsAnnotation {
  refs: Reference[];
  digest: string;
}

export function formatRefsAnnotation(refs: Reference[], digest: string): string {
  const texts = [...new Set(refs.map((r) => formatReference(r)))].sort();
  return JSON.stringify({ refs: texts, digest });
}

export function parseRefsAnnotation(text: string): RefsAnnotation {
  const parsed = JSON.parse(text) as { refs?: unknown; digest?: unknown };
  if (!Array.isArray(parsed.refs) || typeof parsed.digest !== "string") {
    throw new Error(`${ANNOTATION_REFS}: expected {"refs": [...], "digest": "..."}`);
  }
  return { refs: parsed.refs.map((r) => parseReference(String(r))), digest: parsed.digest };
}
