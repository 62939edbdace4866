/**
 * Finds every reference (`ref+…` and argocd-vault-plugin placeholders) in
 * parsed YAML/JSON documents, with where it is: file, document index,
 * Kind/name and YAML path. Malformed references are collected, not thrown,
 * so a render can report all of them at once.
 */
import { avpToReference, findAvpPlaceholders, type AvpSource, type Modifier } from "./avp.ts";
import { InvalidReferenceError, type RefLocation } from "../errors.ts";
import { findReferences, type Reference } from "./reference.ts";
import { dataForm } from "./secret-data.ts";

export type PathSegment = string | number;

/** One reference inside a string value. */
export interface Token {
  start: number;
  end: number;
  ref: Reference;
  /** AVP modifiers (empty for `ref+` references). */
  modifiers: Modifier[];
  syntax: "ref" | "avp";
  /** The Vault mount an AVP placeholder's path named (its store reads that mount). */
  mount?: string;
}

/** A string value holding references. */
export interface Occurrence {
  path: PathSegment[];
  location: RefLocation;
  /** The text the tokens index into (for base64 Secret data: the decoded text). */
  text: string;
  tokens: Token[];
  /** A Secret `data` value whose base64 decoding held the references. */
  base64: boolean;
}

export interface SourceDocument {
  file: string;
  /** Index of the document in its file or stream. */
  index: number;
  value: unknown;
  /**
   * YAML paths (formatPath) of quoted scalars holding a reference: inline
   * mode keeps those strings, where a plain scalar takes the value's type.
   */
  quoted?: ReadonlySet<string>;
}

export interface FindOptions {
  /** What AVP placeholders read; default vault and its default store. */
  avp?: AvpSource;
}

export interface FindResult {
  occurrences: Occurrence[];
  errors: InvalidReferenceError[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `spec.containers[0].env[1].value`, `data["tls.crt"]`. */
export function formatPath(path: PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `Kind/name` (with namespace when set), for messages. */
export function objectName(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const meta = isRecord(value.metadata) ? value.metadata : {};
  const kind = typeof value.kind === "string" ? value.kind : "(no kind)";
  const name = typeof meta.name === "string" ? meta.name : "(no name)";
  return `${kind}/${typeof meta.namespace === "string" ? `${meta.namespace}/` : ""}${name}`;
}

export function annotationsOf(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value) || !isRecord(value.metadata) || !isRecord(value.metadata.annotations))
    return undefined;
  return value.metadata.annotations as Record<string, string>;
}

export function isSecret(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && value.kind === "Secret" && value.apiVersion === "v1";
}

/**
 * Calls `visit` for every string value (map keys are not values). The path
 * array is shared and reused: copy it to keep it.
 */
export function walkStrings(
  value: unknown,
  visit: (path: readonly PathSegment[], s: string) => void,
  path: PathSegment[] = [],
): void {
  if (typeof value === "string") visit(path, value);
  else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walkStrings(value[i], visit, path);
      path.pop();
    }
  } else if (isRecord(value)) {
    for (const k in value) {
      path.push(k);
      walkStrings(value[k], visit, path);
      path.pop();
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A Secret data value's text when it is base64 of UTF-8 (`kubectl create secret` output); else undefined. */
function decodeBase64Text(s: string): string | undefined {
  const compact = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  try {
    return utf8.decode(Buffer.from(compact, "base64"));
  } catch {
    return undefined;
  }
}

function tokensOf(
  text: string,
  annotations: Record<string, string> | undefined,
  options: FindOptions,
): Token[] {
  const tokens: Token[] = findReferences(text).map((span) => ({
    start: span.start,
    end: span.end,
    ref: span.ref,
    modifiers: [],
    syntax: "ref",
  }));
  const avp = options.avp ?? { provider: "vault" };
  for (const p of findAvpPlaceholders(text, { annotations })) {
    // A placeholder inside a ref+ span is part of that reference's text, not a placeholder.
    if (tokens.some((t) => t.syntax === "ref" && p.start < t.end && t.start < p.end)) continue;
    const { ref, mount } = avpToReference(p, avp, annotations);
    tokens.push({
      start: p.start,
      end: p.end,
      ref,
      modifiers: p.modifiers,
      syntax: "avp",
      ...(mount === undefined ? {} : { mount }),
    });
  }
  return tokens.sort((a, b) => a.start - b.start);
}

/** Every reference in one document. */
export function findInDocument(doc: SourceDocument, options: FindOptions = {}): FindResult {
  const result: FindResult = { occurrences: [], errors: [] };
  const object = objectName(doc.value);
  const annotations = annotationsOf(doc.value);
  const secret = isSecret(doc.value);
  walkStrings(doc.value, (sharedPath, s) => {
    // AVP's own annotations name paths; they are not values to substitute.
    const [first, second, third] = sharedPath;
    if (first === "metadata" && second === "annotations" && String(third).startsWith("avp.kubernetes.io/"))
      return;
    const dataValue = secret && sharedPath.length === 2 && first === "data";
    // Most strings hold no reference: leave them before any allocation.
    if (!s.includes("ref+") && !s.includes("<") && !dataValue) return;
    const path = [...sharedPath];
    const location: RefLocation = { file: doc.file, document: doc.index, object, path: formatPath(path) };
    const scan = (text: string, base64: boolean) => {
      try {
        // avp.kubernetes.io/ignore turns off placeholders, not refsync's own references.
        const tokens = tokensOf(text, annotations, options);
        const forms = new Set(tokens.map((t) => dataForm(t.syntax, base64)));
        if (dataValue && forms.size > 1) {
          throw new InvalidReferenceError(
            "a data value cannot mix ref+ references and AVP placeholders (AVP values go in as base64 text, references as bytes)",
          );
        }
        if (tokens.length) result.occurrences.push({ path, location, text, tokens, base64 });
        return tokens.length > 0;
      } catch (err) {
        if (!(err instanceof InvalidReferenceError)) throw err;
        const problem = base64 ? `${err.problem} (in the base64-decoded value)` : err.problem;
        result.errors.push(new InvalidReferenceError(problem, { ...location, offset: err.location.offset }));
        return true;
      }
    };
    if (scan(s, false)) return;
    if (dataValue) {
      const decoded = decodeBase64Text(s);
      if (decoded !== undefined && decoded !== s) scan(decoded, true);
    }
  });
  return result;
}
