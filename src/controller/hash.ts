/**
 * The data hash in a Secret's annotation and the ExternalSecret's status: an
 * HMAC with a key only the controller knows, so the hash says "changed or
 * not" without letting anyone test guesses of a value against it.
 */
import { createHmac, randomBytes } from "node:crypto";

export function dataHash(key: Uint8Array, type: string, data: Record<string, Uint8Array>): string {
  const hmac = createHmac("sha256", key);
  hmac.update(type);
  for (const name of Object.keys(data).sort()) {
    const value = data[name] as Uint8Array;
    hmac.update(`\0${name}\0${value.length}\0`);
    hmac.update(value);
  }
  return hmac.digest("hex").slice(0, 40);
}

export function newHashKey(): Uint8Array {
  return randomBytes(32);
}
