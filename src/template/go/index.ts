/**
 * ESO's template engine v2 (Go text/template with Sprig and ESO's functions),
 * written here in TypeScript. Why not a package: the npm registry has no
 * maintained, faithful text/template port with Sprig (one wraps a Go binary,
 * the others are small unreviewed ports without Sprig's function set or Go's
 * fmt), and the engine must be bounded and bytes-faithful like the
 * Handlebars one. parse.ts lexes and parses, exec.ts executes, fmt.ts is Go's
 * fmt, funcs.ts the functions, value.ts the Go value model.
 */
import { InvalidSpecError } from "../../errors.ts";
import { binary } from "../helpers.ts";
import { TemplateError } from "./errors.ts";
import { execute, type Limits } from "./exec.ts";
import { FUNCS, hasFunction } from "./funcs.ts";
import { parse, type Node } from "./parse.ts";
import { GoMap, type Value } from "./value.ts";

export interface GoTemplateLimits extends Limits {
  maxTemplate: number;
}

/** Line and column (1-based, in bytes) of a byte offset. */
function position(src: string, pos: number): string {
  const before = src.slice(0, pos);
  const line = before.split("\n").length;
  const col = pos - (before.lastIndexOf("\n") + 1) + 1;
  return `line ${line}, column ${col}`;
}

const parsed = new Map<string, Node[]>();

function compile(src: string): Node[] {
  let nodes = parsed.get(src);
  if (!nodes) {
    nodes = parse(src, hasFunction);
    if (parsed.size > 1000) parsed.clear();
    parsed.set(src, nodes);
  }
  return nodes;
}

/**
 * Renders each template (Go text/template, as ESO's engine v2) with ESO's
 * data: a map[string]string of the fetched values, bytes in and bytes out.
 * Errors are InvalidSpecError naming the key, the construct and its place.
 */
export function renderGoTemplates(
  templates: Record<string, string>,
  values: Record<string, Uint8Array>,
  limits: GoTemplateLimits,
  /** The field a template key is at, for messages. */
  field: (key: string) => string = (key) => `spec.target.template.data.${key}`,
): Record<string, Uint8Array> {
  const data = new GoMap(
    new Map<string, Value>(
      Object.entries(values).map(([k, v]) => [
        binary(k),
        Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("latin1"),
      ]),
    ),
    "string",
  );
  const out: Record<string, Uint8Array> = {};
  for (const [key, source] of Object.entries(templates)) {
    const where = field(key);
    if (Buffer.byteLength(source) > limits.maxTemplate)
      throw new InvalidSpecError(`${where}: template larger than ${limits.maxTemplate} bytes`);
    const src = binary(source);
    let rendered: string;
    try {
      rendered = execute(compile(src), data, FUNCS, limits);
    } catch (e) {
      if (e instanceof TemplateError)
        throw new InvalidSpecError(
          `${where}: ${e.pos > 0 || !/^output larger/.test(e.message) ? `${position(src, e.pos)}: ` : ""}${e.message}`,
        );
      if (e instanceof RangeError)
        throw new InvalidSpecError(`${where}: template too large or too deeply nested`);
      throw new InvalidSpecError(`${where}: template failed`);
    }
    if (/[\u0100-\uffff]/.test(rendered)) throw new InvalidSpecError(`${where}: template failed`);
    out[key] = new Uint8Array(Buffer.from(rendered, "latin1"));
  }
  return out;
}
