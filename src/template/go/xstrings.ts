/**
 * Sprig's `snakecase`, `kebabcase` and `camelcase` as huandu/xstrings
 * v1.5.0 (the version ESO builds with) defines ToSnakeCase, ToKebabCase and
 * ToPascalCase (Sprig's `camelcase` is ToPascalCase). Strings are Go
 * strings (binary here): runes are decoded as Go's utf8.DecodeRuneInString
 * does, a byte that is not UTF-8 reading as U+FFFD.
 *
 * Snake and kebab case split the string into words: a run of connectors
 * (`-`, `_`, Unicode spaces), a run of punctuation, a run of digits, a run
 * of lower-case letters, an upper-case letter with the lower-case letters
 * after it, or a run of capitals (`HTTPStatus` → `HTTP`, `Status`); other
 * runes form words of their own. Words are lower-cased and joined by the
 * connector, with digits kept with the word before them unless lower-case
 * letters follow (`Bld4Floor` → `bld4_floor`, `HTTP2xx` → `http_2xx`).
 * Pascal case drops each connector run but its last rune, upper-cases the
 * rune after it, and lower-cases the capitals that follow a word's first
 * capital (`GO_PATH` → `GoPath`).
 */
import { binary, caseRune, RUNE, text } from "../helpers.ts";

const RUNE_ERROR = 0xfffd;

/** The runes of a Go string: [code point, byte length], U+FFFD for a byte that is not UTF-8. */
function decode(bin: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of bin.matchAll(RUNE)) {
    const seq = m[0];
    const r = seq.length === 1 ? (seq > "\x7f" ? RUNE_ERROR : seq.charCodeAt(0)) : text(seq).codePointAt(0)!;
    out.push([r, seq.length]);
  }
  return out;
}

const encode = (r: number): string => (r < 0x80 ? String.fromCharCode(r) : binary(String.fromCodePoint(r)));
const ch = (r: number): string => String.fromCodePoint(r);

const UPPER = 1;
const LETTER = 2;
const NUMBER = 4;
const PUNCT = 8;
const SPACE = 16;
const KNOWN = 128;
/** Each BMP rune's Unicode classes, worked out on first use. */
const classes = new Uint8Array(0x10000);
function classOf(r: number): number {
  if (r < 0x10000 && classes[r]! & KNOWN) return classes[r]!;
  const c = ch(r);
  const flags =
    KNOWN |
    (/^\p{Lu}$/u.test(c) ? UPPER : 0) |
    (/^\p{L}$/u.test(c) ? LETTER : 0) |
    (/^\p{N}$/u.test(c) ? NUMBER : 0) |
    (/^\p{P}$/u.test(c) ? PUNCT : 0) |
    (/^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u.test(c) ? SPACE : 0);
  if (r < 0x10000) classes[r] = flags;
  return flags;
}
/** unicode.IsUpper, IsLetter, IsNumber, IsPunct, IsSpace. */
const isUpper = (r: number): boolean => (classOf(r) & UPPER) !== 0;
const isLetter = (r: number): boolean => (classOf(r) & LETTER) !== 0;
const isNumber = (r: number): boolean => (classOf(r) & NUMBER) !== 0;
const isPunct = (r: number): boolean => (classOf(r) & PUNCT) !== 0;
const isSpace = (r: number): boolean => (classOf(r) & SPACE) !== 0;
const isConnector = (r: number): boolean => r === 0x2d || r === 0x5f || isSpace(r);
const toUpper = (r: number): number => caseRune(ch(r), true).codePointAt(0)!;
const toLowerRune = (r: number): number => caseRune(ch(r), false).codePointAt(0)!;

/** xstrings' isAlphabet: a letter outside the CJK ideograph blocks. */
function isAlphabet(r: number): boolean {
  if (!isLetter(r)) return false;
  if (r < 0x3400) return true;
  return !((r >= 0x4e00 && r <= 0x9fcc) || r <= 0x4d85 || (r >= 0x20000 && r <= 0x2b81d));
}

/** xstrings' word types. */
const Word = { Invalid: 0, Number: 1, Upper: 2, Alphabet: 3, Connector: 4, Punct: 5, Other: 6 } as const;
type Word = (typeof Word)[keyof typeof Word];

/** A string's runes with byte offsets, read the way xstrings reads them (invalid runes skipped). */
class Runes {
  readonly bin: string;
  /** The rune starting at each byte offset, and its size in bytes. */
  private readonly runeAt: Int32Array;
  private readonly sizeAt: Uint8Array;
  constructor(bin: string) {
    this.bin = bin;
    this.runeAt = new Int32Array(bin.length);
    this.sizeAt = new Uint8Array(bin.length);
    let pos = 0;
    for (const [r, size] of decode(bin)) {
      this.runeAt[pos] = r;
      this.sizeAt[pos] = size;
      pos += size;
    }
  }
  /** The rune at `pos` and its size (U+FFFD for a byte that is not UTF-8). */
  rune(pos: number): [number, number] {
    return [this.runeAt[pos]!, this.sizeAt[pos]!];
  }
  /** nextValidRune: the first rune from `pos` that is not U+FFFD and the bytes up to its end; else `prev` and the rest. */
  valid(pos: number, prev: number): [number, number] {
    let size = 0;
    while (pos + size < this.bin.length) {
      const [r, sz] = this.rune(pos + size);
      size += sz;
      if (r !== RUNE_ERROR) return [r, size];
    }
    return [prev, size];
  }
}

/** xstrings' nextWord: the type of the word at `start` and where it ends. */
function nextWord(s: Runes, start: number): [Word, number] {
  const len = s.bin.length;
  if (start >= len) return [Word.Invalid, start];
  let [r, size] = s.valid(start, RUNE_ERROR);
  let end = start + size;
  if (r === RUNE_ERROR) return [Word.Invalid, end];
  /** Extends the word while `keep` holds for the next valid rune. */
  const extend = (keep: (r: number) => boolean): void => {
    while (end < len) {
      [r, size] = s.valid(end, r);
      if (!keep(r)) break;
      end += size;
    }
  };
  if (isConnector(r)) {
    extend(isConnector);
    return [Word.Connector, end];
  }
  if (isPunct(r)) {
    extend(isPunct);
    return [Word.Punct, end];
  }
  if (isUpper(r)) {
    if (end >= len) return [Word.Upper, end];
    [r, size] = s.valid(end, r);
    if (isUpper(r)) {
      let prevSize = size;
      end += size;
      while (end < len) {
        [r, size] = s.valid(end, r);
        if (!isUpper(r)) break;
        prevSize = size;
        end += size;
      }
      // the last capital of a run followed by a letter starts the next word ("HTTPStatus")
      if (end < len && isAlphabet(r)) end -= prevSize;
    } else if (isAlphabet(r)) {
      end += size;
      extend((c) => isAlphabet(c) && !isUpper(c));
    }
    return [Word.Upper, end];
  }
  if (isAlphabet(r)) {
    extend((c) => isAlphabet(c) && !isUpper(c));
    return [Word.Alphabet, end];
  }
  if (isNumber(r)) {
    extend(isNumber);
    return [Word.Number, end];
  }
  extend((c) => !(isConnector(c) || isAlphabet(c) || isNumber(c) || isPunct(c)));
  return [Word.Other, end];
}

/** xstrings' camelCaseToLowerCase: the words lower-cased and joined by `connector`. */
function lowerWords(bin: string, connector: string): string {
  if (bin === "") return "";
  const s = new Runes(bin);
  let out = "";
  /** Appends a word: upper-case and connector words rune by rune (capitals lowered, connectors replaced), others as they are. */
  const put = (wt: Word, from: number, to: number): void => {
    if (wt !== Word.Upper && wt !== Word.Connector) {
      out += bin.slice(from, to);
      return;
    }
    for (let pos = from; pos < to; ) {
      const [r, size] = s.rune(pos);
      pos += size;
      out += isConnector(r) ? connector : encode(isUpper(r) ? toLowerRune(r) : r);
    }
  };
  let start = 0;
  let [wt, end] = nextWord(s, start);
  /** The word after the current one (its start becomes `start`). */
  const next = (): [Word, number] => {
    start = end;
    return nextWord(s, start);
  };
  const joins = (w: Word): boolean => w !== Word.Invalid && w !== Word.Connector && w !== Word.Punct;
  while (end < bin.length) {
    if (wt !== Word.Connector) put(wt, start, end);
    const prev = wt;
    const [lastStart, lastEnd] = [start, end];
    [wt, end] = next();
    if (prev === Word.Number) {
      while (wt === Word.Alphabet || wt === Word.Number) {
        put(wt, start, end);
        [wt, end] = next();
      }
      if (joins(wt)) out += connector;
    } else if (prev === Word.Connector) {
      put(prev, lastStart, lastEnd);
    } else if (prev !== Word.Punct) {
      if (wt !== Word.Number) {
        if (wt !== Word.Connector && wt !== Word.Punct) out += connector;
        continue;
      }
      if (end >= bin.length) continue;
      const [numStart, numEnd] = [start, end];
      [wt, end] = next();
      if (wt !== Word.Alphabet) {
        // digits not followed by letters stay with the word before ("Bld4Floor" → "bld4_floor")
        put(Word.Number, numStart, numEnd);
        if (wt !== Word.Connector && wt !== Word.Punct) out += connector;
        continue;
      }
      // digits followed by lower-case letters start a word ("HTTP2xx" → "http_2xx")
      out += connector;
      put(Word.Number, numStart, numEnd);
      while (wt === Word.Alphabet || wt === Word.Number) {
        put(wt, start, end);
        [wt, end] = next();
      }
      if (joins(wt)) out += connector;
    }
  }
  put(wt, start, end);
  return out;
}

/** xstrings.ToSnakeCase. */
export const toSnakeCase = (bin: string): string => lowerWords(bin, "_");

/** xstrings.ToKebabCase. */
export const toKebabCase = (bin: string): string => lowerWords(bin, "-");

/** xstrings.ToPascalCase (Sprig's `camelcase`). */
export function toPascalCase(bin: string): string {
  if (bin === "") return "";
  const runes = decode(bin).map(([r]) => r);
  const out: number[] = [];
  let i = 0;
  let r0 = 0;
  let firstUpper = false;
  // leading connectors are kept (a string of connectors only gets its last one twice, as xstrings writes it)
  while (i < runes.length) {
    r0 = runes[i++]!;
    if (!isConnector(r0)) {
      firstUpper = isUpper(r0);
      r0 = toUpper(r0);
      break;
    }
    out.push(r0);
  }
  while (i < runes.length) {
    const r1 = r0;
    r0 = runes[i++]!;
    if (isConnector(r0) && isConnector(r1)) {
      out.push(r1);
      continue;
    }
    if (isConnector(r1)) {
      firstUpper = isUpper(r0);
      r0 = toUpper(r0);
    } else {
      if (firstUpper) {
        if (isUpper(r0)) r0 = toLowerRune(r0);
        else firstUpper = false;
      }
      out.push(r1);
    }
  }
  out.push(r0);
  return out.map(encode).join("");
}
