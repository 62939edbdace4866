/**
 * argocd-vault-plugin placeholders, read for migration:
 *
 *   <path:secret/data/team-a/db#password#3 | base64encode>   inline: path, key, optional version
 *   <password | base64encode>                                generic: path from the
 *                                                             avp.kubernetes.io/path annotation
 *
 * Generic placeholders count only on objects carrying the path annotation;
 * objects annotated avp.kubernetes.io/ignore: "true" are left alone. AVP's
 * modifiers are parsed here and applied in `./modifiers.ts`.
 */
import { InvalidReferenceError } from "./errors.ts";
import type { Reference } from "./reference.ts";
import type { ProviderName } from "../providers/types.ts";

export const AVP_PATH_ANNOTATION = "avp.kubernetes.io/path";
export const AVP_VERSION_ANNOTATION = "avp.kubernetes.io/secret-version";
export const AVP_IGNORE_ANNOTATION = "avp.kubernetes.io/ignore";

export type Modifier =
  | { name: "base64encode" | "base64decode" | "jsonParse" | "yamlParse" | "sha256sum" }
  | { name: "indent"; width: number }
  | { name: "jsonPath"; expression: string };

export interface AvpPlaceholder {
  /** Backend path as AVP writes it, mount included (`secret/data/team-a/db`). */
  path: string;
  key: string;
  version?: string;
  modifiers: Modifier[];
  /** `<key>` form, its path from the annotation. */
  generic: boolean;
  start: number;
  end: number;
}

const INLINE = /<path:([^#<>|\s]+)#([^#<>|\s]+)(?:#([^#<>|\s]+))?\s*((?:\|[^|<>]*)*)>/g;
const GENERIC = /<([A-Za-z0-9_.\-/]+)\s*((?:\|[^|<>]*)*)>/g;
const SIMPLE_MODIFIERS = new Set(["base64encode", "base64decode", "jsonParse", "yamlParse", "sha256sum"]);

function parseModifiers(text: string, offset: number): Modifier[] {
  if (!text) return [];
  return text
    .split("|")
    .slice(1)
    .map((part) => {
      const trimmed = part.trim();
      const [name = "", ...rest] = trimmed.split(/\s+/);
      const arg = rest.join(" ");
      if (SIMPLE_MODIFIERS.has(name) && !arg) return { name } as Modifier;
      if (name === "indent" && /^[0-9]+$/.test(arg)) return { name, width: Number(arg) };
      if (name === "jsonPath" && /^\{.*\}$/.test(arg)) return { name, expression: arg };
      throw new InvalidReferenceError(`unknown or malformed AVP modifier "${trimmed}"`, { offset });
    });
}

export interface AvpContext {
  /** The object's metadata.annotations. */
  annotations?: Record<string, string>;
}

/** True when the object opts out of AVP processing. */
export function avpIgnored(annotations: Record<string, string> | undefined): boolean {
  return annotations?.[AVP_IGNORE_ANNOTATION] === "true";
}

/** Every AVP placeholder in a string, in order. */
export function findAvpPlaceholders(s: string, context: AvpContext = {}): AvpPlaceholder[] {
  if (!s.includes("<") || avpIgnored(context.annotations)) return [];
  const found: AvpPlaceholder[] = [];
  for (const m of s.matchAll(INLINE)) {
    found.push({
      path: m[1] as string,
      key: m[2] as string,
      ...(m[3] === undefined ? {} : { version: m[3] }),
      modifiers: parseModifiers(m[4] ?? "", m.index),
      generic: false,
      start: m.index,
      end: m.index + m[0].length,
    });
  }
  // A "<path:" the pattern did not take is a typo, not text.
  for (const m of s.matchAll(/<path:/g)) {
    if (!found.some((p) => p.start === m.index)) {
      throw new InvalidReferenceError("malformed AVP placeholder (expected <path:PATH#KEY[#VERSION]>)", {
        offset: m.index,
      });
    }
  }
  const path = context.annotations?.[AVP_PATH_ANNOTATION];
  if (path !== undefined) {
    const version = context.annotations?.[AVP_VERSION_ANNOTATION];
    for (const m of s.matchAll(GENERIC)) {
      found.push({
        path,
        key: m[1] as string,
        ...(version === undefined ? {} : { version }),
        modifiers: parseModifiers(m[2] ?? "", m.index),
        generic: true,
        start: m.index,
        end: m.index + m[0].length,
      });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/**
 * The `ref+` reference an AVP placeholder stands for. AVP paths include the
 * mount, and for KV v2 a `data/` segment; refsync's Vault keys are relative
 * to the store's mount, so both are dropped (`secret/data/team-a/db` →
 * `team-a/db`). Other providers take the path as it is.
 */
export function avpToReference(p: AvpPlaceholder, provider: ProviderName, store?: string): Reference {
  let path = p.path;
  if (provider === "vault") {
    const m = /^[^/]+\/(?:data\/)?(.+)$/.exec(path);
    if (m) path = m[1] as string;
  }
  return {
    provider,
    path,
    fragment: p.key,
    ...(store === undefined ? {} : { store }),
    ...(p.version === undefined ? {} : { version: p.version }),
  };
}
