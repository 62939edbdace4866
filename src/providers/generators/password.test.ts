/**
 * The Password generator, checked against ESO's documented behaviour
 * (docs/api/generator/password.md): defaults, class counts, repeats,
 * secretKeys and encodings. Counts are checked exactly on every password of
 * a batch, so a wrong class or a repeated character fails reliably.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_SYMBOL_CHARACTERS, passwordPlan, passwordSpecSchema } from "../../api/generators.ts";
import { InvalidSpecError } from "../../errors.ts";
import { encodePassword, generatePasswords } from "./password.ts";

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const one = (spec: Parameters<typeof generatePasswords>[0]) => text(generatePasswords(spec).password);
const classOf = (ch: string, symbols = DEFAULT_SYMBOL_CHARACTERS) =>
  /[a-z]/.test(ch)
    ? "lower"
    : /[A-Z]/.test(ch)
      ? "upper"
      : /[0-9]/.test(ch)
        ? "digit"
        : symbols.includes(ch)
          ? "symbol"
          : "other";
function counts(password: string, symbols?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ch of password) out[classOf(ch, symbols)] = (out[classOf(ch, symbols)] ?? 0) + 1;
  return out;
}

void describe("Password generator", () => {
  void test("defaults: 24 characters, a quarter digits, a quarter symbols, no repeats, key password", () => {
    for (let i = 0; i < 50; i++) {
      const out = generatePasswords({});
      assert.deepEqual(Object.keys(out), ["password"]);
      const p = text(out.password);
      assert.equal(p.length, 24);
      const c = counts(p);
      assert.equal(c.digit, 6);
      assert.equal(c.symbol, 6);
      assert.equal((c.lower ?? 0) + (c.upper ?? 0), 12);
      assert.equal(c.other, undefined);
      assert.equal(new Set(p).size, 24, "no character twice without allowRepeat");
    }
  });

  void test("length 0 means the default 24; a quarter is rounded down", () => {
    assert.equal(one({ length: 0 }).length, 24);
    const p = one({ length: 7 }); // 7 * 0.25 = 1.75 → 1 digit, 1 symbol
    assert.equal(p.length, 7);
    assert.deepEqual([counts(p).digit, counts(p).symbol], [1, 1]);
  });

  void test("explicit digits, symbols and symbolCharacters", () => {
    for (let i = 0; i < 50; i++) {
      const p = one({ length: 42, digits: 5, symbols: 5, symbolCharacters: "-_$@", allowRepeat: true });
      assert.equal(p.length, 42);
      const c = counts(p, "-_$@");
      assert.deepEqual([c.digit, c.symbol, c.other], [5, 5, undefined]);
    }
  });

  void test("an empty symbolCharacters means go-password's default set", () => {
    const c = counts(one({ length: 12, digits: 0, symbols: 12, symbolCharacters: "" }));
    assert.equal(c.symbol, 12);
  });

  void test("noUpper leaves out upper-case letters", () => {
    for (let i = 0; i < 50; i++) assert.equal(counts(one({ noUpper: true, length: 30 })).upper, undefined);
  });

  void test("without noUpper both cases appear over many passwords", () => {
    const c = counts(Array.from({ length: 40 }, () => one({ digits: 0, symbols: 0 })).join(""));
    assert.ok((c.upper ?? 0) > 0 && (c.lower ?? 0) > 0);
  });

  void test("allowRepeat lets a class repeat; without it the counts are bounded", () => {
    const p = one({ length: 40, digits: 40, symbols: 0, allowRepeat: true });
    assert.match(p, /^[0-9]{40}$/);
    assert.throws(() => generatePasswords({ length: 11, digits: 11, symbols: 0 }), InvalidSpecError);
    assert.throws(
      () => generatePasswords({ length: 60, noUpper: true, digits: 0, symbols: 0 }),
      /spec\.length: 60 letters/,
    );
    assert.throws(
      () => generatePasswords({ length: 5, digits: 0, symbols: 5, symbolCharacters: "ab" }),
      /spec\.symbols/,
    );
  });

  void test("digits and symbols beyond length are refused, naming the field", () => {
    assert.throws(
      () => generatePasswords({ length: 4, digits: 3, symbols: 2 }),
      /spec\.digits: digits and symbols \(5\) exceed length \(4\)/,
    );
    const parsed = passwordSpecSchema.safeParse({ length: 4, digits: 3, symbols: 2 });
    assert.equal(parsed.success, false);
  });

  void test("repeated symbol characters cannot hang the generator", () => {
    // go-password would loop forever: 3 distinct symbols asked of "%%%", which has one.
    assert.deepEqual(
      passwordPlan({ length: 3, digits: 0, symbols: 3, symbolCharacters: "%%%" }).problems.map((p) => p.path),
      ["symbols"],
    );
  });

  void test("secretKeys: one independent password per key", () => {
    const out = generatePasswords({ secretKeys: ["a", "b", "c"] });
    assert.deepEqual(Object.keys(out).sort(), ["a", "b", "c"]);
    assert.equal(new Set(Object.values(out).map(text)).size, 3);
    assert.equal(passwordSpecSchema.safeParse({ secretKeys: ["a", "a"] }).success, false);
    assert.equal(passwordSpecSchema.safeParse({ secretKeys: [""] }).success, false);
    assert.equal(passwordSpecSchema.safeParse({ secretKeys: [] }).success, false);
  });

  void test("two calls give two passwords", () => {
    assert.notEqual(one({}), one({}));
  });

  void test("encodings are Go's padded standard encodings of the password's bytes", () => {
    assert.equal(encodePassword("fo", "base64"), "Zm8=");
    assert.equal(encodePassword("\u00ff\u00fe?", "base64"), "w7/Dvj8=");
    assert.equal(encodePassword("\u00ff\u00fe?", "base64url"), "w7_Dvj8=");
    assert.equal(encodePassword("fo", "base64url"), "Zm8=");
    // RFC 4648 test vectors.
    for (const [input, want] of [
      ["", ""],
      ["f", "MY======"],
      ["fo", "MZXQ===="],
      ["foo", "MZXW6==="],
      ["foob", "MZXW6YQ="],
      ["fooba", "MZXW6YTB"],
      ["foobar", "MZXW6YTBOI======"],
    ] as const)
      assert.equal(encodePassword(input, "base32"), want);
    assert.equal(encodePassword("fo", "hex"), "666f");
    assert.equal(encodePassword("fo", "raw"), "fo");
    assert.match(text(generatePasswords({ encoding: "hex" }).password), /^[0-9a-f]{48}$/);
  });

  void test("symbolCharacters must be printable ASCII (Go indexes bytes)", () => {
    assert.equal(passwordSpecSchema.safeParse({ symbolCharacters: "€" }).success, false);
    assert.equal(passwordSpecSchema.safeParse({ symbolCharacters: "a b" }).success, false);
  });
});
