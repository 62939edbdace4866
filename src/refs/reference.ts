/**
 * The reference grammar:
 *
 *   ref+<provider>://<path>[?<param>=<value>&...][#<fragment>][+]
 *
 * provider: vault | awssecrets | gcpsm | azurekv | k8s | fake. params: store, version, decode.
 * A reference is a whole string value, or is embedded in a longer string and
 * then ends with the `+` end marker. Characters outside each part's plain set
 * are percent-encoded (UTF-8), so every path round-trips through format/parse.
 * Parse errors are InvalidReferenceError with the character offset.
 */
import type { DecodingStrategy } from "../api/v1alpha1.ts";
import { InvalidReferenceError } from "../errors.ts";

/** The backends a reference may name (`ref+<provider>://`): part of the grammar, so here and not in providers/. */
export type ProviderName = "vault" | "awssecrets" | "gcpsm" | "azurekv" | "k8s" | "fake";

export const PROVIDERS: readonly ProviderName[] = ["vault", "awssecrets", "gcpsm", "azurekv", "k8s", "fake"];
export const PARAMS = ["store", "version", "decode"] as const;
export const DECODINGS = { base64: "Base64", base64url: "Base64URL", auto: "Auto" } as const satisfies Record<
  string,
  DecodingStrategy
>;
export type Decode = keyof typeof DECODINGS;

export interface Reference {
  provider: ProviderName;
  /** The secret's key in the backend (decoded). */
  path: string;
  /** A JSON key, or a `/a/b` pointer, inside the secret. */
  fragment?: string;
  /** A SecretStore name, or `ClusterSecretStore/<name>`. */
  store?: string;
  version?: string;
  decode?: Decode;
}

const PREFIX = "ref+";
const END = "+";
// Plain characters of each part; anything else is percent-encoded.
const PATH_PLAIN = /[A-Za-z0-9\-_.~/@:=,]/;
const VALUE_PLAIN = /[A-Za-z0-9\-_.~/@:,]/;
const FRAGMENT_PLAIN = PATH_PLAIN;
const SCHEME = /ref\+([A-Za-z0-9_-]*):\/\//y;

function encodePart(text: string, plain: RegExp): string {
  let out = "";
  for (const ch of text) {
    if (plain.test(ch)) out += ch;
    else
      for (const byte of Buffer.from(ch, "utf8"))
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Canonical text of a reference; `endMarker` appends `+` (needed when embedded). */
export function formatReference(ref: Reference, endMarker = false): string {
  let out = `${PREFIX}${ref.provider}://${encodePart(ref.path, PATH_PLAIN)}`;
  const params = PARAMS.filter((p) => ref[p] !== undefined).map(
    (p) => `${p}=${encodePart(String(ref[p]), VALUE_PLAIN)}`,
  );
  if (params.length) out += `?${params.join("&")}`;
  if (ref.fragment !== undefined) out += `#${encodePart(ref.fragment, FRAGMENT_PLAIN)}`;
  return endMarker ? out + END : out;
}

/** A reference found in a string, with its character span (end exclusive, marker included). */
export interface ReferenceSpan {
  ref: Reference;
  start: number;
  end: number;
  /** True when the reference ended with the `+` marker. */
  marked: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads one part (path, param value, fragment) from `pos`, decoding %XX; stops at the first non-plain character. */
function readPart(s: string, pos: number, plain: RegExp, what: string): { text: string; end: number } {
  const bytes: number[] = [];
  let text = "";
  const flush = (at: number) => {
    if (!bytes.length) return;
    try {
      text += utf8.decode(new Uint8Array(bytes));
    } catch {
      throw new InvalidReferenceError(`${what}: percent-encoding is not valid UTF-8`, { offset: at });
    }
    bytes.length = 0;
  };
  let i = pos;
  while (i < s.length) {
    const ch = s[i] as string;
    if (ch === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new InvalidReferenceError(`${what}: "%" must be followed by two hex digits`, { offset: i });
      }
      bytes.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    if (!plain.test(ch)) break;
    flush(i);
    text += ch;
    i++;
  }
  flush(i);
  return { text, end: i };
}

function describe(ch: string | undefined): string {
  return JSON.stringify(ch ?? "");
}

/**
 * Parses the reference starting at `start` (where `ref+` is). It ends at the
 * `+` marker, or at the end of the text; `requireMarker` demands the marker
 * (a reference embedded after other text).
 */
export function parseReferenceAt(s: string, start: number, requireMarker: boolean): ReferenceSpan {
  SCHEME.lastIndex = start;
  const scheme = SCHEME.exec(s);
  if (!scheme) throw new InvalidReferenceError('expected "ref+<provider>://"', { offset: start });
  const provider = scheme[1] as string;
  if (!PROVIDERS.includes(provider as ProviderName)) {
    throw new InvalidReferenceError(`unknown provider "${provider}" (expected ${PROVIDERS.join(", ")})`, {
      offset: start + PREFIX.length,
    });
  }
  let pos = SCHEME.lastIndex;
  const path = readPart(s, pos, PATH_PLAIN, "path");
  if (!path.text) throw new InvalidReferenceError("empty path", { offset: pos });
  const ref: Reference = { provider: provider as ProviderName, path: path.text };
  pos = path.end;

  if (s[pos] === "?") {
    pos++;
    for (;;) {
      const nameMatch = /[a-z]*/y;
      nameMatch.lastIndex = pos;
      const name = (nameMatch.exec(s) as RegExpExecArray)[0];
      if (!(PARAMS as readonly string[]).includes(name)) {
        throw new InvalidReferenceError(`unknown parameter "${name}" (expected ${PARAMS.join(", ")})`, {
          offset: pos,
        });
      }
      const param = name as (typeof PARAMS)[number];
      if (ref[param] !== undefined)
        throw new InvalidReferenceError(`parameter "${name}" given twice`, { offset: pos });
      pos += name.length;
      if (s[pos] !== "=")
        throw new InvalidReferenceError(`expected "=" after parameter "${name}"`, { offset: pos });
      const value = readPart(s, pos + 1, VALUE_PLAIN, `parameter "${name}"`);
      if (!value.text)
        throw new InvalidReferenceError(`parameter "${name}" has an empty value`, { offset: pos + 1 });
      if (param === "decode") {
        if (!Object.hasOwn(DECODINGS, value.text)) {
          throw new InvalidReferenceError(`decode must be one of ${Object.keys(DECODINGS).join(", ")}`, {
            offset: pos + 1,
          });
        }
        ref.decode = value.text as Decode;
      } else {
        ref[param] = value.text;
      }
      pos = value.end;
      if (s[pos] !== "&") break;
      pos++;
    }
  }

  if (s[pos] === "#") {
    const fragment = readPart(s, pos + 1, FRAGMENT_PLAIN, "fragment");
    if (!fragment.text) throw new InvalidReferenceError("empty fragment after #", { offset: pos });
    ref.fragment = fragment.text;
    pos = fragment.end;
  }

  if (s[pos] === END) return { ref, start, end: pos + 1, marked: true };
  if (pos === s.length && !requireMarker) return { ref, start, end: pos, marked: false };
  const hint = requireMarker ? ' (an embedded reference ends with "+")' : "";
  const problem =
    pos === s.length ? 'missing the "+" end marker' : `unexpected character ${describe(s[pos])}`;
  throw new InvalidReferenceError(problem + hint, { offset: pos });
}

/** Parses a string that is exactly one reference (the end marker is optional). */
export function parseReference(s: string): Reference {
  if (!s.startsWith(PREFIX)) throw new InvalidReferenceError('expected "ref+<provider>://"', { offset: 0 });
  const span = parseReferenceAt(s, 0, false);
  if (span.end !== s.length) {
    throw new InvalidReferenceError('unexpected text after the "+" end marker', { offset: span.end });
  }
  return span.ref;
}

const START = /ref\+[A-Za-z0-9_-]*:\/\//g;

/**
 * Every reference in a string. A reference at the very start may run to the
 * end of the string; any other ends with `+`. Text that merely contains
 * "ref+" without "://" is not a reference.
 */
export function findReferences(s: string): ReferenceSpan[] {
  const spans: ReferenceSpan[] = [];
  if (!s.includes(PREFIX)) return spans;
  START.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = START.exec(s)) !== null) {
    const span = parseReferenceAt(s, match.index, match.index !== 0);
    spans.push(span);
    START.lastIndex = span.end;
  }
  return spans;
}

/** The decoding strategy a reference's `decode` parameter asks for. */
export function decodingStrategy(ref: Reference): DecodingStrategy | undefined {
  return ref.decode === undefined ? undefined : DECODINGS[ref.decode];
}
