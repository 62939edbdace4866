/**
 * Property selection and decoding, done once for every provider: a provider
 * returns a whole secret (`SecretValue`), and this module turns it into the
 * bytes of one value (`getSecret`) or a key → bytes map (`getSecretMap`,
 * `dataFrom.extract`). Errors name the store, key and property, never a value.
 */
import type { DecodingStrategy } from "../api/v1alpha1.ts";
import { InvalidSpecError, SecretNotFoundError } from "../errors.ts";
import type { SecretValue } from "./types.ts";

export interface ExtractRequest {
  /** Store name, for messages. */
  store: string;
  key: string;
  /** A top-level key of the secret, or a JSON-pointer-like path `/a/b`. */
  property?: string;
  decodingStrategy?: DecodingStrategy;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function where(req: ExtractRequest): string {
  const prop = req.property === undefined ? "" : ` property "${req.property}"`;
  return `${req.store}: key "${req.key}"${prop}`;
}

/** Parses a JSON blob (string or UTF-8 bytes); undefined when it is not JSON. */
function parseJson(blob: string | Uint8Array): unknown {
  try {
    return JSON.parse(typeof blob === "string" ? blob : utf8.decode(blob)) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array);
}

/** Decodes one pointer segment: `~1` is `/`, `~0` is `~` (RFC 6901). */
function pointerSegments(pointer: string): string[] {
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** Steps into a value; strings and bytes holding JSON are parsed on the way (Vault fields holding JSON documents). */
function child(current: unknown, segment: string): unknown {
  let container = current;
  if (typeof container === "string" || container instanceof Uint8Array) container = parseJson(container);
  if (Array.isArray(container)) {
    return /^(0|[1-9][0-9]*)$/.test(segment) ? (container[Number(segment)] as unknown) : undefined;
  }
  if (isObject(container) && Object.hasOwn(container, segment)) return container[segment];
  return undefined;
}

function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortedKeys(v[k])]),
  );
}

/**
 * Go's encoding/json of a metadata map: keys sorted; <, > and & escaped as json.Marshal does
 * unless `escapeHtml` is false (an Encoder with SetEscapeHTML(false)); U+2028 and U+2029 always.
 */
export function goMetadataJson(v: unknown, escapeHtml: boolean): string {
  const special = escapeHtml ? /[<>&\u2028\u2029]/g : /[\u2028\u2029]/g;
  return JSON.stringify(sortedKeys(v) ?? null).replace(
    special,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const METADATA_GROUP = /^(labels|annotations)(?:\.(.+))?$/s;

/** ESO's GCP and Kubernetes metadata: `labels`, `annotations`, `labels.KEY`, `annotations.KEY`. */
function selectLabelled(value: SecretValue, req: ExtractRequest, escapeHtml: boolean): unknown {
  const { property } = req;
  if (property === undefined || property === "") return value.data;
  const root = parseJson(value.data as string) as Record<string, Record<string, string> | null>;
  const m = METADATA_GROUP.exec(property);
  if (!m) {
    throw new InvalidSpecError(
      `${where(req)}: with metadataPolicy Fetch the property is labels, annotations, labels.KEY or annotations.KEY`,
    );
  }
  const group = root[m[1] as string] ?? null;
  if (m[2] === undefined) return goMetadataJson(group, escapeHtml);
  if (group === null || !Object.hasOwn(group, m[2])) {
    throw new SecretNotFoundError(`${where(req)}: no such ${m[1] === "labels" ? "label" : "annotation"}`);
  }
  return group[m[2]];
}

/** ESO's Azure tags: a tag (attribute.created included), or `TAG.PATH` inside a tag holding JSON. */
function selectTag(value: SecretValue, req: ExtractRequest): unknown {
  const { property } = req;
  if (property === undefined || property === "") return value.data;
  const tags = parseJson(value.data as string) as Record<string, string>;
  if (Object.hasOwn(tags, property)) return tags[property];
  const dot = property.indexOf(".");
  const tag = property.slice(0, dot);
  if (dot > 0 && Object.hasOwn(tags, tag)) {
    const path = property.slice(dot + 1);
    let selected: unknown = tags[tag];
    for (const segment of path.split(".")) {
      selected = child(selected, segment);
      if (selected === undefined) break;
    }
    // As gjson there: a path, else the whole rest as one key.
    selected ??= child(tags[tag], path);
    if (selected !== undefined) return selected;
  }
  throw new SecretNotFoundError(`${where(req)}: no such tag`);
}

/**
 * The value a reference selects, with the type the backend holds (string,
 * number, boolean, object, bytes): the inline renderer keeps that type for
 * whole-value placeholders, as argocd-vault-plugin does.
 */
export function selectProperty(value: SecretValue, req: ExtractRequest): unknown {
  const { property } = req;
  if (value.metadata?.shape === "labels") return selectLabelled(value, req, value.metadata.escapeHtml);
  if (value.metadata?.shape === "tags") return selectTag(value, req);
  let root: unknown = value.data;
  if (property === undefined || property === "") return root;
  if (!isObject(root)) {
    root = parseJson(root as string | Uint8Array);
    if (root === undefined)
      throw new InvalidSpecError(`${where(req)}: the secret is not JSON, so it has no properties`);
  }
  let selected: unknown;
  if (property.startsWith("/")) {
    selected = root;
    for (const segment of pointerSegments(property)) {
      selected = child(selected, segment);
      if (selected === undefined) break;
    }
  } else {
    selected = child(root, property);
  }
  if (selected === undefined) throw new SecretNotFoundError(`${where(req)}: property not found`);
  return selected;
}

/** Bytes of a selected value: strings as UTF-8, scalars as text, objects as JSON (bytes inside as UTF-8 text). */
export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(value);
  return encoder.encode(
    JSON.stringify(value, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString("utf8") : v,
    ),
  );
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function decodeBase64(
  bytes: Uint8Array,
  alphabet: RegExp,
  encoding: "base64" | "base64url",
): Uint8Array | undefined {
  const text = Buffer.from(bytes).toString("latin1").replace(/\s+/g, "");
  if (!alphabet.test(text)) return undefined;
  // Node decodes leniently; a length that cannot be base64 is rejected here.
  if (encoding === "base64" && text.length % 4 !== 0) return undefined;
  if (text.replace(/=+$/, "").length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(text, encoding));
}

export function decode(
  bytes: Uint8Array,
  strategy: DecodingStrategy | undefined,
  req: ExtractRequest,
): Uint8Array {
  switch (strategy ?? "None") {
    case "None":
      return bytes;
    case "Base64":
    case "Base64URL": {
      const url = strategy === "Base64URL";
      const decoded = decodeBase64(bytes, url ? BASE64URL : BASE64, url ? "base64url" : "base64");
      if (decoded === undefined) throw new InvalidSpecError(`${where(req)}: value is not valid ${strategy}`);
      return decoded;
    }
    case "Auto":
      return decodeBase64(bytes, BASE64, "base64") ?? decodeBase64(bytes, BASE64URL, "base64url") ?? bytes;
    default:
      throw new InvalidSpecError(`${where(req)}: unknown decodingStrategy "${String(strategy)}"`);
  }
}

/** getSecret: the bytes of one value. */
export function extractValue(value: SecretValue, req: ExtractRequest): Uint8Array {
  return decode(toBytes(selectProperty(value, req)), req.decodingStrategy, req);
}

/** getSecretMap / dataFrom.extract: every key of the (selected) object, as bytes. */
export function extractMap(value: SecretValue, req: ExtractRequest): Record<string, Uint8Array> {
  if (value.metadata?.shape === "tags") {
    if (req.property) {
      throw new InvalidSpecError(
        `${where(req)}: with metadataPolicy Fetch, dataFrom.extract reads every tag; remove the property`,
      );
    }
    return Object.fromEntries(
      Object.entries(value.metadata.extract).map(([k, v]) => [
        k,
        decode(encoder.encode(v), req.decodingStrategy, req),
      ]),
    );
  }
  let selected = selectProperty(value, req);
  if (typeof selected === "string" || selected instanceof Uint8Array) selected = parseJson(selected);
  if (!isObject(selected) || Array.isArray(selected)) {
    throw new InvalidSpecError(`${where(req)}: not a map of keys to values`);
  }
  const out: Record<string, Uint8Array> = {};
  const labelled = value.metadata;
  for (const [k, v] of Object.entries(selected)) {
    const bytes =
      labelled && typeof v !== "string" ? encoder.encode(goMetadataJson(v, labelled.escapeHtml)) : toBytes(v);
    out[k] = decode(bytes, req.decodingStrategy, req);
  }
  return out;
}
