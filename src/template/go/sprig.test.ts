// The rest of Sprig's functions in Go templates: strings (goutils), numbers
// (cast, shopspring/decimal), lists (Sprig's slice, chunk, the must… forms),
// reflection and AES. Expected outputs follow from the functions' documented
// rules, worked out in the comments, not from running ESO.
import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { test } from "node:test";
import { casesV2, failsV2, renderV2 } from "../../../test/template/go-render.ts";

const SECRET = "s3cr3t-value";
const DATA = { cfg: '{"l":[1,2,3,4,5],"m":{"a":1}}', password: SECRET };
const render = (source: string, data: Record<string, string> = DATA): string => renderV2(source, data);
const cases = (list: [string, string][]) => casesV2(list, DATA);
const fails = (source: string, message: RegExp, data: Record<string, string> = DATA): void =>
  failsV2(source, message, data, SECRET);

void test("strings: abbreviations, initials, case swaps, base32 and hex", () => {
  cases([
    ["{{ hello }}", "Hello!"],
    // abbrev: at most `width` bytes with "..." (width < 4: unchanged).
    [
      '{{ abbrev 5 "hello world" }}|{{ abbrev 3 "hello world" }}|{{ abbrev 20 "short" }}',
      "he...|hello world|short",
    ],
    // abbrevboth 5 10: from offset 5, 10 bytes in all, "..." on both sides cut.
    ['{{ abbrevboth 5 10 "1234 5678 9123 456" }}', "...5678..."],
    ['{{ abbrevboth 0 10 "1234 5678 9123 456" }}', "1234 56..."],
    // initials: the first byte of each whitespace-separated word.
    ['{{ initials "First  Try\tnow" }}', "FTn"],
    // swapcase: upper → lower; lower → title case at a word's start (after a space), else upper.
    ['{{ swapcase "This Is A.Test" }}', "tHIS iS a.tEST"],
    // untitle: the first letter of every word in lower case.
    ['{{ untitle "Hello World ÉTÉ" }}', "hello world éTÉ"],
    ['{{ trimall "$" "$5.00$" }}', "5.00"],
    // RFC 4648 base32 with padding: "f" → MY======, "foobar" → MZXW6YTBOI======.
    ['{{ b32enc "f" }} {{ b32enc "foobar" }}', "MY====== MZXW6YTBOI======"],
    // hexdec returns Go's error text as its result, as Sprig does.
    [
      '{{ hexdec "666f6f" }}|{{ hexdec "6g" }}|{{ hexdec "666" }}',
      "foo|encoding/hex: invalid byte: U+0067 'g'|encoding/hex: odd length hex string",
    ],
  ]);
});

void test("wrap, wrapWith and b32dec", () => {
  cases([
    // wrap: break at the last space within the width; a longer word stays whole.
    ['{{ wrap 10 "The quick brown fox jumps over" }}', "The quick\nbrown fox\njumps over"],
    ['{{ wrap 3 "abcdefgh ij" }}', "abcdefgh\nij"],
    // wrapWith: the separator given, and long words cut at the width.
    ['{{ wrapWith 5 "\\t" "Hello World" }}|{{ wrapWith 3 "|" "abcdefgh ij" }}', "Hello\tWorld|abc|def|gh|ij"],
    // RFC 4648's test vectors; newlines are ignored.
    [
      '{{ b32dec "MY======" }} {{ b32dec "MZXW6===" }} {{ b32dec "MZXW6YQ=" }} {{ b32dec "MZXW6YTB" }}',
      "f foo foob fooba",
    ],
    ['{{ b32dec "MZXW6YTBOI======" }} {{ b32dec "MZXW\\n6===" }}', "foobar foo"],
    // Errors come back as the result, as Sprig returns them: the offset of the byte at fault.
    [
      '{{ b32dec "MZXW6YT" }}|{{ b32dec "M=======" }}|{{ b32dec "MZX=====" }}|{{ b32dec "mzxw6===" }}',
      "illegal base32 data at input byte 0|illegal base32 data at input byte 1|illegal base32 data at input byte 3|illegal base32 data at input byte 0",
    ],
  ]);
});

void test("numbers: seq, untilStep, toDecimal, floats and decimal arithmetic", () => {
  cases([
    // seq as the Unix command: 1..n, start..end, start step end; end included.
    [
      "{{ seq 5 }}|{{ seq -3 }}|{{ seq 0 }}|{{ seq 2 -2 }}|{{ seq 0 2 10 }}|{{ seq 5 2 1 }}",
      "1 2 3 4 5|1 0 -1 -2 -3|1 0|2 1 0 -1 -2|0 2 4 6 8 10|",
    ],
    ["{{ untilStep 3 6 2 }} {{ untilStep 6 3 -1 }} {{ untilStep 6 3 1 }}", "[3 5] [6 5 4] []"],
    // toDecimal reads octal ("0777" is 511); anything else is 0.
    ['{{ toDecimal "0777" }} {{ toDecimal 17 }} {{ toDecimal "8" }}', "511 15 0"],
    ['{{ maxf 1 2.5 "3" }} {{ minf 1 2.5 }} {{ biggest 1 5 3 }}', "3 1 5"],
    ['{{ ceil 1.2 }} {{ floor "1.8" }} {{ ceil -1.5 }}', "2 1 -1"],
    // round a places [roundOn]: up when the fraction past `places` is at least roundOn (.5).
    [
      "{{ round 123.555555 3 }} {{ round 123.5 0 }} {{ round 123.5 0 0.6 }} {{ round 123.7 0 0.6 }}",
      "123.556 124 123 124",
    ],
    // Decimal arithmetic: 1.1 + 2.2 is exactly 3.3 (float64 addition would give 3.3000000000000003).
    [
      "{{ addf 1.1 2.2 }} {{ add1f 1.1 }} {{ subf 3.3 1.1 }} {{ mulf 1.1 3 }} {{ addf }}",
      "3.3 2.1 2.2 3.3 0",
    ],
    // Quotients are rounded half away from zero at 16 places, then read as float64.
    [
      "{{ divf 10 3 }} {{ divf 2 3 }} {{ divf -2 3 }} {{ divf 1 8 }}",
      "3.3333333333333335 0.6666666666666667 -0.6666666666666667 0.125",
    ],
  ]);
  fails("{{ divf 1 0 }}", /error calling divf: decimal division by 0/);
});

void test("lists: Sprig's slice (lists only), chunk, deepCopy and the must… forms", () => {
  const c = "(fromJson .cfg)";
  cases([
    [
      `{{ slice ${c}.l 1 3 }} {{ slice ${c}.l 2 }} {{ mustSlice ${c}.l }} {{ slice (list) 0 }}`,
      "[2 3] [3 4 5] [1 2 3 4 5] <no value>",
    ],
    [
      `{{ chunk 2 ${c}.l }} {{ mustChunk 5 ${c}.l }} {{ chunk 3 (list) }}`,
      "[[1 2] [3 4] [5]] [[1 2 3 4 5]] []",
    ],
    [`{{ $m := ${c}.m }}{{ $d := deepCopy $m }}{{ $_ := set $d "a" 2 }}{{ $m.a }} {{ $d.a }}`, "1 2"],
    [
      `{{ mustFirst ${c}.l }} {{ mustLast ${c}.l }} {{ mustRest (list 1 2) }} {{ mustInitial (list 1 2) }}`,
      "1 5 [2] [1]",
    ],
    [
      "{{ mustAppend (list 1) 2 }} {{ mustPrepend (list 1) 0 }} {{ mustReverse (list 1 2) }} {{ mustUniq (list 1 1 2) }}",
      "[1 2] [0 1] [2 1] [1 2]",
    ],
    [
      '{{ mustWithout (list 1 2) 1 }} {{ mustHas 2 (list 1 2) }} {{ mustCompact (list 1 "" 0 2) }}',
      "[2] true [1 2]",
    ],
  ]);
  // In ESO, Sprig's slice replaces text/template's, so a string cannot be sliced.
  fails("{{ slice .password 1 }}", /error calling slice: list should be type of slice or array but string/);
  fails("{{ slice (list 1 2) 1 3 }}", /reflect: slice index out of range/);
  fails('{{ mustPush "x" 1 }}', /error calling mustPush: Cannot push on type string/);
});

void test("reflection: typeOf, typeIs, typeIsLike, kindOf, kindIs, deepEqual", () => {
  const c = "(fromJson .cfg)";
  cases([
    [
      `{{ typeOf ${c}.m }}|{{ typeOf ${c}.l }}|{{ typeOf .password }}|{{ typeOf 1.5 }}|{{ typeOf nil }}`,
      "map[string]interface {}|[]interface {}|string|float64|<nil>",
    ],
    [
      `{{ kindOf ${c}.m }} {{ kindOf ${c}.l }} {{ kindOf now }} {{ kindOf (semver "1.0.0") }} {{ kindOf nil }}`,
      "map slice struct ptr invalid",
    ],
    [
      `{{ typeIs "string" .password }} {{ typeIsLike "semver.Version" (semver "1.0.0") }} {{ kindIs "map" ${c}.m }}`,
      "true true true",
    ],
    [
      `{{ deepEqual ${c}.m (deepCopy ${c}.m) }} {{ deepEqual ${c}.m (dict "a" 2.0) }} {{ deepEqual ${c}.m . }}`,
      "true false false",
    ],
  ]);
});

void test("decryptAES: AES-256-CBC with the IV first, as Sprig's encryptAES writes it; fail says nothing", () => {
  // An archive as encryptAES makes it: the password zero-padded to 32 bytes is the key, a random IV
  // first, PKCS #7 padding; here the IV is fixed so the test is repeatable.
  const key = Buffer.alloc(32);
  Buffer.from("passphrase").copy(key);
  const iv = Buffer.alloc(16, 7);
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const encrypted = Buffer.concat([iv, cipher.update(SECRET), cipher.final()]).toString("base64");
  assert.equal(render('{{ decryptAES .enc "passphrase" }}', { enc: encrypted }), SECRET);
  fails('{{ decryptAES .enc "k" }}', /illegal base64 data at input byte 3/, { enc: "not base64" });
  // fail's message may be built from a value: it is not repeated.
  fails(
    '{{ fail (printf "bad %s" .password) }}',
    /error calling fail: the template called fail \(its message is not shown/,
  );
});

void test("derivePassword: Master Password v3, and at most four in one template", () => {
  // The algorithm's published example: user "Robert Lee Mitchell", master password "banana colored
  // duckling", site "masterpasswordapp.com", counter 1, type long.
  const args = '1 "long" "banana colored duckling" "Robert Lee Mitchell" "masterpasswordapp.com"';
  cases([
    [`{{ derivePassword ${args} }}`, "Jejr5[RepuSosp"],
    ['{{ derivePassword 1 "nope" "p" "u" "s" }}', "cannot find password template nope"],
  ]);
  // scrypt takes most of a second: a fifth call in one template is refused before it runs.
  fails(
    `{{ range until 5 }}{{ derivePassword ${args} }}{{ end }}`,
    /derivePassword is called too often in one template/,
  );
});
