/**
 * ESO's Password generator: for each key, a password of `length` characters
 * with `digits` digits and `symbols` symbols, the rest letters, built as
 * go-password (ESO's library) builds it: each character drawn uniformly from
 * its class and inserted at a uniformly random position of the password so
 * far; without allowRepeat, no character is used twice. Randomness is
 * node:crypto's. The settings are checked by the schema (passwordPlan).
 */
import { randomInt } from "node:crypto";
import { passwordPlan, type PasswordPlan, type PasswordSpec } from "../../api/generators.ts";
import { InvalidSpecError } from "../../errors.ts";

/** One password from a plan (its problems already refused). */
export function newPassword(plan: Pick<PasswordPlan, "classes" | "allowRepeat">): string {
  const out: string[] = [];
  const used = new Set<string>();
  for (const { count, characters } of plan.classes) {
    const pool = plan.allowRepeat ? [...characters] : [...new Set(characters)];
    for (let i = 0; i < count; i++) {
      const choices = plan.allowRepeat ? pool : pool.filter((ch) => !used.has(ch));
      const ch = choices[randomInt(choices.length)] as string;
      used.add(ch);
      out.splice(randomInt(out.length + 1), 0, ch);
    }
  }
  return out.join("");
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 with padding, as Go's base32.StdEncoding. */
function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out.padEnd(Math.ceil(out.length / 8) * 8, "=");
}

/** A password written as `encoding` says (Go's padded standard encodings). */
export function encodePassword(password: string, encoding: PasswordPlan["encoding"]): string {
  const bytes = Buffer.from(password, "utf8");
  switch (encoding) {
    case "base64":
      return bytes.toString("base64");
    case "base64url": {
      const text = bytes.toString("base64url");
      return text.padEnd(Math.ceil(text.length / 4) * 4, "=");
    }
    case "base32":
      return base32(bytes);
    case "hex":
      return bytes.toString("hex");
    case "raw":
      return password;
  }
}

/** ESO's Password generator's output: one new password per key. */
export function generatePasswords(spec: PasswordSpec): Record<string, Uint8Array> {
  const plan = passwordPlan(spec);
  const problem = plan.problems[0];
  if (problem) throw new InvalidSpecError(`spec.${problem.path}: ${problem.message}`);
  return Object.fromEntries(
    plan.keys.map((key) => [key, new TextEncoder().encode(encodePassword(newPassword(plan), plan.encoding))]),
  );
}
