// What a key names in a vault:
//
//   [<vault-name>/][secret/|key/|cert/]<object-name>
//
// `ref+azurekv://my-vault/db` gives `my-vault/db`; ESO's remoteRef keys are
// `db`, `key/signing` or `cert/tls`. Key Vault object names hold no `/`
// (1-127 of [0-9A-Za-z-]), so the segments are never ambiguous, except for
// a vault itself named secret, key or cert: a two-segment key is read as
// ESO's `<type>/<name>` first, and such a vault is named in the
// three-segment form (`key/secret/db`).
import { InvalidSpecError } from "../../errors.ts";

export type ObjectType = "secret" | "key" | "cert";
const TYPES: readonly string[] = ["secret", "key", "cert"];

export interface ObjectRef {
  type: ObjectType;
  name: string;
}

const OBJECT_NAME = /^[0-9A-Za-z-]{1,127}$/;
/** Key Vault version identifiers: 32 hex digits. */
export const VERSION = /^[0-9a-f]{32}$/i;

/**
 * The object a key names in the vault `vault` (the store's). A key naming
 * another vault is refused: a store reads one vault.
 */
export function objectRef(key: string, vault: string, store: string): ObjectRef {
  const parts = key.split("/");
  let named: string | undefined;
  let type: ObjectType = "secret";
  if (parts.length === 3) {
    named = parts[0];
    type = objectType(parts[1] as string, key, store);
  } else if (parts.length === 2) {
    if (TYPES.includes(parts[0] as string)) type = parts[0] as ObjectType;
    else named = parts[0];
  } else if (parts.length !== 1) {
    throw invalid(key, store, "has too many segments (expected [vault/][secret/|key/|cert/]name)");
  }
  if (named !== undefined && named.toLowerCase() !== vault) {
    throw invalid(key, store, `names vault "${named}", but the store reads vault "${vault}"`);
  }
  const name = parts.at(-1) as string;
  if (!OBJECT_NAME.test(name)) {
    throw invalid(key, store, "is not a Key Vault object name (1-127 letters, digits and dashes)");
  }
  return { type, name };
}

function objectType(segment: string, key: string, store: string): ObjectType {
  if (!TYPES.includes(segment))
    throw invalid(key, store, `has unknown object type "${segment}" (secret, key, cert)`);
  return segment as ObjectType;
}

function invalid(key: string, store: string, problem: string): InvalidSpecError {
  return new InvalidSpecError(`${store}: key "${key}" ${problem}`);
}

/** A version of a reference: a Key Vault version id, or unset/empty for the current one. */
export function versionOf(version: string | undefined, key: string, store: string): string | undefined {
  if (version === undefined || version === "" || version.toLowerCase() === "latest") return undefined;
  if (!VERSION.test(version)) {
    throw new InvalidSpecError(
      `${store}: key "${key}": version must be a Key Vault version id (32 hex digits)`,
    );
  }
  return version.toLowerCase();
}
