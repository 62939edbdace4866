/**
 * argocd-vault-plugin's modifiers, applied in order to a resolved value in
 * inline mode, with AVP's types: every modifier but `jsonPath` takes a
 * string (text or, after `base64decode`, bytes) and fails on a number, a
 * boolean, a map or a list, as AVP's do. Errors say which modifier failed
 * and on what type, never the value.
 */
import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import type { Modifier } from "./avp.ts";
import { compileJsonPath } from "./kube-jsonpath.ts";
import { JsonPathError, ModifierError } from "../errors.ts";
import { isStdBase64 } from "./secret-data.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function typeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a map" : `a ${typeof value}`;
}

/** The value as AVP's Go string: text, or bytes that are not UTF-8. */
function goString(value: unknown, modifier: string): string | Uint8Array {
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw new ModifierError(`${modifier}: invalid datatype: the value is ${typeName(value)}, not a string`);
}

function textOf(value: string | Uint8Array, modifier: string): string {
  if (typeof value === "string") return value;
  try {
    return utf8.decode(value);
  } catch {
    throw new ModifierError(`${modifier}: the value is binary, not text`);
  }
}

/** Bytes as text when they are UTF-8; binary values stay bytes. */
function fromBytes(bytes: Uint8Array): string | Uint8Array {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes;
  }
}

/** AVP's indent: the first line trimmed, every later non-empty line trimmed and indented; empty lines dropped. */
function indent(text: string, width: number): string {
  const [first = "", ...rest] = text.split("\n");
  let out = first.trim() + (rest.length ? "\n" : "");
  rest.forEach((line, i) => {
    if (line.length === 0) return;
    out += " ".repeat(Math.max(width, 0)) + line.trim();
    if (i < rest.length - 1) out += "\n";
  });
  return out;
}

function jsonPath(expression: string, value: unknown): string {
  // AVP parses a string as JSON first; Go's decoder makes its numbers float64s.
  const parsed = typeof value === "string" || value instanceof Uint8Array;
  let data = value;
  if (parsed) {
    try {
      data = JSON.parse(textOf(value, "jsonPath")) as unknown;
    } catch (err) {
      if (err instanceof ModifierError) throw err;
      throw new ModifierError("jsonPath: the value is not JSON");
    }
  }
  try {
    return compileJsonPath(expression).execute(data, parsed);
  } catch (err) {
    if (err instanceof JsonPathError) throw new ModifierError(`jsonPath ${expression}: ${err.message}`);
    throw err;
  }
}

export function applyModifiers(value: unknown, modifiers: Modifier[]): unknown {
  let current = value;
  for (const m of modifiers) {
    switch (m.name) {
      case "base64encode":
        current = Buffer.from(goString(current, m.name)).toString("base64");
        break;
      case "base64decode": {
        const text = textOf(goString(current, m.name), m.name).replace(/[\r\n]/g, "");
        if (!isStdBase64(text)) throw new ModifierError("base64decode: the value is not valid base64");
        current = fromBytes(Buffer.from(text, "base64"));
        break;
      }
      case "sha256sum":
        current = createHash("sha256").update(goString(current, m.name)).digest("hex");
        break;
      case "jsonParse":
        try {
          current = JSON.parse(textOf(goString(current, m.name), m.name)) as unknown;
        } catch (err) {
          if (err instanceof ModifierError) throw err;
          throw new ModifierError("jsonParse: the value is not JSON");
        }
        break;
      case "yamlParse":
        try {
          // sigs.k8s.io/yaml, which AVP uses, reads YAML 1.1.
          current = parseYaml(textOf(goString(current, m.name), m.name), { version: "1.1" }) as unknown;
        } catch (err) {
          if (err instanceof ModifierError) throw err;
          throw new ModifierError("yamlParse: the value is not YAML");
        }
        break;
      case "jsonPath":
        current = jsonPath(m.expression, current);
        break;
      case "indent":
        current = indent(textOf(goString(current, m.name), m.name), m.width);
        break;
    }
  }
  return current;
}
