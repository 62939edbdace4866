/**
 * The one place src/git asks "is this a reference?", answered by the
 * reference grammar in src/refs (`ref+` references and AVP placeholders).
 */
import { findAvpPlaceholders, findReferences, InvalidReferenceError } from "../refs/index.ts";

/**
 * True when the value is, or embeds, a reference (its literal parts are then
 * not secret). A malformed reference is still a reference, not a secret:
 * `refsync render` reports it.
 */
export function containsReference(value: string, annotations?: Record<string, string>): boolean {
  try {
    return findReferences(value).length > 0 || findAvpPlaceholders(value, { annotations }).length > 0;
  } catch (err) {
    if (err instanceof InvalidReferenceError) return true;
    throw err;
  }
}
