/**
 * Formatting helpers, and nothing else: no file, environment or network
 * access, no helper that loops or recurses on its own. Errors say what is
 * wrong with the input's shape, never the input (it is a secret value).
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { HelperError } from "../errors.ts";

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v as string | number | boolean);
}

/** Handlebars passes an options object last; helpers see only their real arguments. */
function args(list: unknown[]): unknown[] {
  return list.slice(0, -1);
}

function wrap64(s: string): string {
  return s.match(/.{1,64}/g)?.join("\n") ?? "";
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

export const helpers: Record<string, (...a: unknown[]) => unknown> = {
  b64enc: (...a) => Buffer.from(str(args(a)[0]), "utf8").toString("base64"),
  b64dec: (...a) => {
    const s = str(args(a)[0]).trim();
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new HelperError("b64dec: input is not base64");
    return Buffer.from(s, "base64").toString("utf8");
  },
  toJson: (...a) => JSON.stringify(args(a)[0] ?? null),
  fromJson: (...a) => {
    try {
      return JSON.parse(str(args(a)[0])) as unknown;
    } catch {
      throw new HelperError("fromJson: input is not valid JSON");
    }
  },
  toYaml: (...a) => stringifyYaml(args(a)[0] ?? null).trimEnd(),
  fromYaml: (...a) => {
    try {
      return parseYaml(str(args(a)[0])) as unknown;
    } catch {
      throw new HelperError("fromYaml: input is not valid YAML");
    }
  },
  trim: (...a) => str(args(a)[0]).trim(),
  upper: (...a) => str(args(a)[0]).toUpperCase(),
  lower: (...a) => str(args(a)[0]).toLowerCase(),
  /** `{{default value "fallback"}}`: the fallback when value is empty. */
  default: (...a) => {
    const [value, fallback] = args(a);
    return value === undefined || value === null || value === "" ? fallback : value;
  },
  /** `{{join list ","}}` */
  join: (...a) => {
    const [list, sep] = args(a);
    if (!Array.isArray(list)) throw new HelperError("join: first argument is not a list");
    return list.map(str).join(sep === undefined ? "," : str(sep));
  },
  /** `{{split value ","}}`: a list, for join or each. */
  split: (...a) => {
    const [value, sep] = args(a);
    return str(value).split(sep === undefined ? "," : str(sep));
  },
  /** `{{pemEncode "CERTIFICATE" base64Der}}`: a PEM block around base64 DER. */
  pemEncode: (...a) => {
    const [type, b64] = args(a);
    const body = str(b64).replace(/\s+/g, "");
    return `-----BEGIN ${str(type)}-----\n${wrap64(body)}\n-----END ${str(type)}-----\n`;
  },
  /** `{{filterPEM "CERTIFICATE" bundle}}`: only the blocks of one type (ESO's filterPEM). */
  filterPEM: (...a) => {
    const [type, pem] = args(a);
    const blocks = [...str(pem).matchAll(PEM_BLOCK)].filter((m) => m[1] === str(type)).map((m) => m[0]);
    return blocks.length ? `${blocks.join("\n")}\n` : "";
  },
  /** `{{pemCount "CERTIFICATE" bundle}}` */
  pemCount: (...a) => {
    const [type, pem] = args(a);
    return [...str(pem).matchAll(PEM_BLOCK)].filter((m) => m[1] === str(type)).length;
  },
};
