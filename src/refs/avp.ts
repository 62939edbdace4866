/**
 * argocd-vault-plugin placeholders, read as AVP reads them:
 *
 *   <path:secret/data/team-a/db#password#3 | base64encode>   inline: path, key, optional version
 *   <password | base64encode>                                generic: path from the
 *                                                             avp.kubernetes.io/path annotation
 *
 * AVP's patterns decide what is a placeholder. On an object without the
 * path annotation only `<path:P#K[#V]…>` is one; with it (even empty), every
 * `<…>` on one line is, and `<…>` holding `path:P#K` reads that path. Text
 * the patterns do not take (`<path:x>`, `<b>` without the annotation) is
 * left as it is. Inside a placeholder, `|` separates modifiers; spaces
 * around the key and the modifiers do not matter (`<  key |jsonPath {.a}| jsonParse >`).
 * Annotations are booleans as Go's strconv.ParseBool reads them; any
 * other value is false, as in AVP.
 */
import { InvalidReferenceError, JsonPathError } from "../errors.ts";
import { compileJsonPath } from "./kube-jsonpath.ts";
import type { ProviderName, Reference } from "./reference.ts";

export const AVP_PATH_ANNOTATION = "avp.kubernetes.io/path";
export const AVP_VERSION_ANNOTATION = "avp.kubernetes.io/secret-version";
export const AVP_IGNORE_ANNOTATION = "avp.kubernetes.io/ignore";
export const AVP_REMOVE_MISSING_ANNOTATION = "avp.kubernetes.io/remove-missing";
export const AVP_KV_VERSION_ANNOTATION = "avp.kubernetes.io/kv-version";

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

/**
 * AVP's patterns, as scans: Go's regexp is linear, JavaScript's backtracks,
 * and a manifest is untrusted input. In Go's syntax (ungreedy, where `.`
 * stops at a newline and `[^#]` does not):
 *   generic  <(.*)>
 *   inline   <path:([^#]+)#([^#]+)(?:#([^#]+))?>
 *   body     path:(?P<path>[^#]+?)#(?P<key>[^#]+?)(?:#(?P<version>.+?))??
 */
function genericSpans(s: string): [number, number][] {
  const spans: [number, number][] = [];
  for (let from = 0; ; ) {
    const open = s.indexOf("<", from);
    if (open === -1) return spans;
    const close = s.indexOf(">", open + 1);
    if (close === -1) return spans;
    const newline = s.indexOf("\n", open + 1);
    if (newline !== -1 && newline < close) {
      from = newline + 1; // no "<" before this line break has a ">" on its line
      continue;
    }
    spans.push([open, close + 1]);
    from = close + 1;
  }
}

/** `indexOf` for scans whose start only grows: each character is looked at once. */
function forwardIndex(s: string, ch: string): (from: number) => number {
  let last = { from: Number.MAX_SAFE_INTEGER, at: -1 };
  return (from) => {
    if (from >= last.from && (last.at === -1 || from <= last.at)) return last.at;
    last = { from, at: s.indexOf(ch, from) };
    return last.at;
  };
}

function inlineSpans(s: string): [number, number][] {
  const spans: [number, number][] = [];
  const hash = forwardIndex(s, "#");
  const close = forwardIndex(s, ">");
  for (let start = s.indexOf("<path:"); start !== -1; start = s.indexOf("<path:", start + 1)) {
    const keyHash = hash(start + 6);
    if (keyHash === -1) break;
    if (keyHash === start + 6) continue;
    // The key runs to the first ">"; a "#" before it starts the version, which runs to the next ">".
    const versionHash = hash(keyHash + 1);
    const end = close(keyHash + 2);
    if (end !== -1 && (versionHash === -1 || end < versionHash)) {
      spans.push([start, end + 1]);
    } else if (versionHash > keyHash + 1) {
      const versionEnd = close(versionHash + 2);
      const afterVersion = hash(versionHash + 1);
      if (versionEnd !== -1 && (afterVersion === -1 || versionEnd < afterVersion)) {
        spans.push([start, versionEnd + 1]);
      } else continue;
    } else continue;
    start = (spans.at(-1) as [number, number])[1] - 1;
  }
  return spans;
}

/** The path, key and version of a placeholder body holding `path:P#K[#V]`, anywhere in it. */
function inlineBody(body: string): { path: string; key: string; version?: string } | undefined {
  for (let at = body.indexOf("path:"); at !== -1; at = body.indexOf("path:", at + 1)) {
    const keyHash = body.indexOf("#", at + 5);
    if (keyHash === -1) return undefined;
    if (keyHash === at + 5) continue;
    const next = body.indexOf("#", keyHash + 1);
    const keyEnd = next === -1 ? body.length : next;
    if (keyEnd === keyHash + 1) continue;
    const lineEnd = next === -1 ? -1 : body.indexOf("\n", next + 1);
    const version = next === -1 ? "" : body.slice(next + 1, lineEnd === -1 ? body.length : lineEnd);
    return {
      path: body.slice(at + 5, keyHash),
      key: body.slice(keyHash + 1, keyEnd),
      ...(version ? { version } : {}),
    };
  }
  return undefined;
}
const SIMPLE_MODIFIERS = new Set(["base64encode", "base64decode", "jsonParse", "yamlParse", "sha256sum"]);

/** Go's strconv.ParseBool; undefined when it is not a boolean. */
export function parseGoBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/** True when the object opts out of AVP processing (avp.kubernetes.io/ignore). */
export function avpIgnored(annotations: Record<string, string> | undefined): boolean {
  return parseGoBool(annotations?.[AVP_IGNORE_ANNOTATION]) === true;
}

/** True when placeholders whose key is missing remove their field (avp.kubernetes.io/remove-missing). */
export function avpRemoveMissing(annotations: Record<string, string> | undefined): boolean {
  return parseGoBool(annotations?.[AVP_REMOVE_MISSING_ANNOTATION]) === true;
}

function parseModifier(statement: string, offset: number): Modifier {
  const [name = "", ...params] = statement.trim().split(/\s+/).filter(Boolean);
  const fail = (problem: string): never => {
    throw new InvalidReferenceError(`AVP modifier "${name}": ${problem}`, { offset });
  };
  if (name === "") throw new InvalidReferenceError("empty AVP modifier after |", { offset });
  if (SIMPLE_MODIFIERS.has(name)) {
    if (params.length) fail("invalid parameters (it takes none)");
    return { name } as Modifier;
  }
  if (name === "indent") {
    if (params.length !== 1) fail("invalid parameters (indent N)");
    if (!/^[+-]?[0-9]+$/.test(params[0] as string)) fail("invalid indentation level");
    return { name, width: Number(params[0]) };
  }
  if (name === "jsonPath") {
    if (params.length === 0) fail("invalid parameters (jsonPath TEMPLATE)");
    // AVP splits the modifier on white space and joins the words with one space.
    const expression = params.join(" ");
    try {
      compileJsonPath(expression);
    } catch (err) {
      if (err instanceof JsonPathError) fail(err.message);
      throw err;
    }
    return { name, expression };
  }
  throw new InvalidReferenceError(`invalid AVP modifier "${name}"`, { offset });
}

export interface AvpContext {
  /** The object's metadata.annotations. */
  annotations?: Record<string, string>;
}

/** Every AVP placeholder in a string, in order. */
export function findAvpPlaceholders(s: string, context: AvpContext = {}): AvpPlaceholder[] {
  const { annotations } = context;
  if (!s.includes("<") || avpIgnored(annotations)) return [];
  const annotatedPath = annotations?.[AVP_PATH_ANNOTATION];
  const spans = annotatedPath === undefined ? inlineSpans(s) : genericSpans(s);
  return spans.map(([start, end]) => {
    const body = s.slice(start, end).replace(/^<+/, "").replace(/>+$/, "");
    const [name = "", ...statements] = body.split("|");
    const placeholder = name.replace(/^ +| +$/g, "");
    const inline = inlineBody(placeholder);
    const version = inline ? inline.version : annotations?.[AVP_VERSION_ANNOTATION];
    return {
      path: inline ? inline.path : (annotatedPath as string),
      key: inline ? inline.key.trim() : placeholder,
      ...(version ? { version } : {}),
      modifiers: statements.map((statement) => parseModifier(statement, start)),
      generic: !inline,
      start,
      end,
    };
  });
}

/** What AVP placeholders read: the plugin configuration's `avp` section. */
export interface AvpSource {
  provider: ProviderName;
  /** Store of placeholders whose mount `mounts` does not name. */
  store?: string;
  /** KV version of paths whose object has no avp.kubernetes.io/kv-version (AVP_KV_VERSION); default 2. */
  kvVersion?: "1" | "2";
  /** Vault mount (`secret`, `team-a/kv`) → the store that reads it. */
  mounts?: Record<string, string>;
}

/** A placeholder's reference, and the Vault mount its path named (Vault layout only). */
export interface AvpTarget {
  ref: Reference;
  mount?: string;
}

/**
 * The `ref+` reference an AVP placeholder stands for. AVP paths are Vault
 * API paths: mount, then for KV v2 `data/`, then the secret's path. A
 * store reads one mount, so the mount selects the store (`mounts`, else
 * the one `store`) and the reference keeps the path below it:
 * `secret/testing` (KV v1) → `testing` on the `secret` mount's store,
 * `kv/data/testing` (KV v2) → `testing` on the `kv` mount's store. The KV
 * version comes from the object's avp.kubernetes.io/kv-version, else
 * `kvVersion` (2), as in AVP; a KV v2 path without `data/` is an error,
 * and a version on a KV v1 path is ignored, as AVP does.
 * Azure Key Vault follows AVP's Azure backend: the path names the vault and
 * the key a whole secret in it (`<path:my-vault#db#<version>>` →
 * `ref+azurekv://my-vault/db?version=…`).
 * Google Secret Manager follows AVP's GCP backend: the path is a secret's
 * resource name (`projects/<project>/secrets/<id>`), whose whole payload AVP
 * files under the secret id, so the key must be that id and the reference
 * reads the whole value (`<path:projects/p/secrets/db#db#3>` →
 * `ref+gcpsm://projects/p/secrets/db?version=3`). Any other key reads nothing
 * in AVP, and is an error here rather than a reference that could resolve.
 * Other providers take the path as it is, unless `mounts` is set (the fake
 * provider standing in for Vault).
 */
export function avpToReference(
  p: AvpPlaceholder,
  source: AvpSource,
  annotations: Record<string, string> | undefined,
): AvpTarget {
  const base = {
    provider: source.provider,
    fragment: avpKeyFragment(p.key),
    ...(p.version === undefined ? {} : { version: p.version }),
  };
  if (source.provider === "azurekv") {
    // AVP's Azure backend: the path is the vault's name and the key a whole secret of it.
    const { fragment: _key, ...whole } = base;
    const path = `${p.path.replace(/^\/+|\/+$/g, "")}/${p.key}`;
    return { ref: { ...whole, path, ...(source.store === undefined ? {} : { store: source.store }) } };
  }
  if (source.provider === "gcpsm") {
    const { fragment: _key, ...whole } = base;
    return {
      ref: {
        ...whole,
        path: gcpResourceName(p.path, p),
        ...(source.store === undefined ? {} : { store: source.store }),
      },
    };
  }
  if (source.provider !== "vault" && source.mounts === undefined) {
    return { ref: { ...base, path: p.path, ...(source.store === undefined ? {} : { store: source.store }) } };
  }
  const path = p.path.replace(/^\/+/, "");
  const mount =
    Object.keys(source.mounts ?? {})
      .map((m) => m.replace(/^\/+|\/+$/g, ""))
      .filter((m) => path.startsWith(`${m}/`))
      .sort((a, b) => b.length - a.length)[0] ?? path.slice(0, Math.max(path.indexOf("/"), 0));
  if (!mount)
    throw new InvalidReferenceError(`AVP path "${p.path}" names no Vault mount`, { offset: p.start });
  const store = source.mounts?.[mount] ?? source.store;
  if (source.mounts !== undefined && store === undefined) {
    throw new InvalidReferenceError(
      `Vault mount "${mount}" of AVP path "${p.path}" has no store in the plugin configuration's avp.mounts`,
      { offset: p.start },
    );
  }
  let below = path.slice(mount.length + 1);
  const kv = annotations?.[AVP_KV_VERSION_ANNOTATION] ?? source.kvVersion ?? "2";
  if (kv !== "1" && kv !== "2") {
    throw new InvalidReferenceError(`${AVP_KV_VERSION_ANNOTATION} must be "1" or "2"`, { offset: p.start });
  }
  if (kv === "2") {
    if (!below.startsWith("data/")) {
      throw new InvalidReferenceError(
        `AVP path "${p.path}" is read as KV v2, which needs "${mount}/data/…" (or annotate avp.kubernetes.io/kv-version: "1")`,
        { offset: p.start },
      );
    }
    below = below.slice("data/".length);
  } else {
    // KV v1 has no versions: AVP ignores the version and reads the secret, and so do we.
    delete base.version;
  }
  return { ref: { ...base, path: below, ...(store === undefined ? {} : { store }) }, mount };
}

/**
 * The secret an AVP GCP path names, checked as AVP's backend reads it: the
 * id is what follows the last `/secrets/` (AVP's pattern is greedy), and
 * it is the only key the backend's answer holds.
 */
function gcpResourceName(path: string, p: AvpPlaceholder): string {
  const at = path.lastIndexOf("/secrets/");
  const project = at === -1 ? -1 : path.lastIndexOf("projects/", at);
  const id = at === -1 ? "" : path.slice(at + "/secrets/".length);
  if (project === -1 || at - project <= "projects/".length || id === "") {
    throw new InvalidReferenceError(
      `AVP path "${path}" is not a Google Secret Manager secret name (projects/<project>/secrets/<secret>)`,
      { offset: p.start },
    );
  }
  if (p.key !== id) {
    throw new InvalidReferenceError(
      `AVP's GCP backend files secret "${id}" under its id only: key "${p.key}" of "${path}" reads nothing (use the key "${id}"; modifiers such as jsonPath select inside the value)`,
      { offset: p.start },
    );
  }
  return path;
}

/**
 * The fragment that reads AVP's key: AVP looks a key up in the secret's
 * top-level map as it is, while a fragment starting with `/` is a JSON
 * pointer; such a key becomes a one-segment pointer to itself (RFC 6901).
 */
function avpKeyFragment(key: string): string {
  return key.startsWith("/") ? `/${key.replaceAll("~", "~0").replaceAll("/", "~1")}` : key;
}

/**
 * One store reads one Vault mount: placeholders of two mounts that resolve
 * to the same store would read one mount's secrets for the other's. The
 * problems, one per store; `uses` maps each store to the mounts read from it.
 */
export function mountConflicts(uses: Map<string, Set<string>>): string[] {
  return [...uses]
    .filter(([, mounts]) => mounts.size > 1)
    .map(
      ([store, mounts]) =>
        `AVP placeholders read Vault mounts ${[...mounts].sort().join(", ")} through one store "${store}"; map each mount to its own store in the plugin configuration's avp.mounts`,
    );
}
