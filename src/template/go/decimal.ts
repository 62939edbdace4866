/**
 * The decimal arithmetic of Sprig's float functions (addf, subf, mulf,
 * divf, add1f), as shopspring/decimal does it: each float64 becomes the
 * decimal of its shortest representation (NewFromFloat), sums, differences
 * and products are exact, a quotient is rounded half away from zero to 16
 * decimal places (DivisionPrecision), and the result is the float64 nearest
 * to the decimal (Float64).
 */
import { TemplateFuncError } from "./errors.ts";

/** coefficient × 10^exp */
export interface Decimal {
  coef: bigint;
  exp: number;
}

const DIVISION_PRECISION = 16;

/** decimal.NewFromFloat: the shortest decimal that reads back as the float (Go's and JS's shortest forms agree). */
export function fromFloat(x: number): Decimal {
  if (!Number.isFinite(x)) throw new TemplateFuncError(`Cannot create a Decimal from ${x}`);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) throw new TemplateFuncError("Cannot create a Decimal from this float");
  const frac = m[3] ?? "";
  return { coef: BigInt(`${m[1]}${m[2]}${frac}`), exp: Number(m[4] ?? 0) - frac.length };
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp);
  return [a.coef * pow10(a.exp - exp), b.coef * pow10(b.exp - exp), exp];
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return { coef: x + y, exp };
}

export function sub(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return { coef: x - y, exp };
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return { coef: a.coef * b.coef, exp: a.exp + b.exp };
}

/** Decimal.Div: DivRound(b, 16), half away from zero. */
export function div(a: Decimal, b: Decimal): Decimal {
  if (b.coef === 0n) throw new TemplateFuncError("decimal division by 0");
  // a / b = (a.coef / b.coef) × 10^(a.exp − b.exp), wanted as q × 10^-16
  const shift = a.exp - b.exp + DIVISION_PRECISION;
  let num = a.coef;
  let den = b.coef;
  if (shift >= 0) num *= pow10(shift);
  else den *= pow10(-shift);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  let q = num / den;
  const r = num % den;
  if (2n * (r < 0n ? -r : r) >= den) q += num < 0n ? -1n : 1n;
  return { coef: q, exp: -DIVISION_PRECISION };
}

/** Decimal.Float64: the float64 nearest to the decimal. */
export function toFloat(d: Decimal): number {
  return Number(`${d.coef}e${d.exp}`);
}
