/**
 * Handlebars data templates for target Secrets (`spec.target.template.data`).
 * An isolated Handlebars environment with our formatting helpers plus the
 * built-in `if/unless/each/with/lookup` (knownHelpersOnly: a template cannot
 * call anything else), no partials, no prototype access, HTML escaping off.
 * Template and output sizes are bounded. Errors are InvalidSpecError naming
 * the target key, never a value.
 *
 * Rendering works on bytes, as ESO's Go templates do: values, the template's
 * literal text (its UTF-8 bytes) and the output are binary strings (one char
 * per byte, latin1) inside, so `{{raw}}` copies a value that is not UTF-8
 * exactly; helpers.ts says how each helper reads them.
 */
import { createRequire } from "node:module";
import type Handlebars from "handlebars";
import { HelperError, InvalidSpecError } from "../errors.ts";
import { renderGoTemplates } from "./go/index.ts";
import { binary, helpers } from "./helpers.ts";

export const MAX_TEMPLATE_BYTES = 64 * 1024;
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Work one template may do in `each` bodies: nested loops over `split` values would otherwise run for hours. */
export const MAX_ITERATIONS = 100_000;
const MAX_BODY_BYTES = 4 * MAX_OUTPUT_BYTES; // nested bodies are counted once per level

let work = { iterations: 0, bytes: 0 }; // of the template being rendered (rendering is synchronous)

/**
 * Handlebars, set up on the first v1 template (loaded synchronously: rendering is). A controller
 * whose ExternalSecrets have no template never loads it (~2 MiB of RSS, bench/memory.ts).
 */
let env: typeof Handlebars | undefined;

function handlebars(): typeof Handlebars {
  if (env) return env;
  const load = createRequire(import.meta.url);
  const hb = (load("handlebars") as typeof Handlebars).create();

  /**
   * Handlebars' parser, then every string of the AST (literal text, string
   * literals, path segments, block parameters) as UTF-8 bytes. Whitespace
   * control (`{{~x}}`) runs before, on the text: its `\s` would take the byte
   * 0xA0 that ends "à" for a space. hb.compile calls hb.parse.
   */
  const parseText = hb.parse;
  hb.parse = (input, options) => binaryAst(parseText(input, options));
  for (const [name, fn] of Object.entries(helpers)) hb.registerHelper(name, fn);
  hb.unregisterHelper("log");
  hb.unregisterHelper("helperMissing");
  const builtinEach = hb.helpers.each as (
    this: unknown,
    context: unknown,
    options: Handlebars.HelperOptions,
  ) => string;
  hb.registerHelper("each", function (this: unknown, context: unknown, options: Handlebars.HelperOptions) {
    const body = options.fn;
    const counted = (ctx: unknown, o?: Handlebars.RuntimeOptions): string => {
      if (++work.iterations > MAX_ITERATIONS)
        throw new HelperError(`each: more than ${MAX_ITERATIONS} iterations`);
      const out = body(ctx, o);
      work.bytes += out.length;
      if (work.bytes > MAX_BODY_BYTES)
        throw new HelperError(`each: output larger than ${MAX_OUTPUT_BYTES} bytes`);
      return out;
    };
    return builtinEach.call(this, context, { ...options, fn: counted });
  });
  return (env = hb);
}

function binaryAst(program: hbs.AST.Program): hbs.AST.Program {
  const stack: unknown[] = [program];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node === null || typeof node !== "object") continue;
    if (Array.isArray(node)) {
      stack.push(...(node as unknown[]));
      continue;
    }
    const n = node as Record<string, unknown>;
    for (const field of ["value", "original", "key"])
      if (typeof n[field] === "string") n[field] = binary(n[field]);
    for (const field of ["parts", "blockParams"])
      if (Array.isArray(n[field]))
        n[field] = (n[field] as unknown[]).map((p) => (typeof p === "string" ? binary(p) : p));
    for (const [field, v] of Object.entries(n)) if (field !== "loc" && typeof v === "object") stack.push(v);
  }
  return program;
}

const knownHelpers = Object.fromEntries(
  [...Object.keys(helpers), "if", "unless", "each", "with", "lookup"].map((n) => [n, true]),
) as KnownHelpers;
type KnownHelpers = { [name: string]: boolean };

const compiled = new Map<string, HandlebarsTemplateDelegate>();

function compile(source: string): HandlebarsTemplateDelegate {
  let fn = compiled.get(source);
  if (!fn) {
    fn = handlebars().compile(source, {
      noEscape: true,
      strict: false,
      knownHelpers,
      knownHelpersOnly: true,
    });
    if (compiled.size > 1000) compiled.clear();
    compiled.set(source, fn);
  }
  return fn;
}

/** Messages from Handlebars' parser describe the template, not the data; runtime errors are ours or generic. */
function describe(err: unknown): string {
  if (err instanceof HelperError) return err.message;
  const msg = err instanceof Error ? err.message : String(err);
  if (/Parse error|Expecting|Missing helper|unknown helper|not defined|partial/i.test(msg))
    return msg.replace(/\s*\n\s*/g, " ");
  return "template failed";
}

const GO_LIMITS = {
  maxTemplate: MAX_TEMPLATE_BYTES,
  maxOutput: MAX_OUTPUT_BYTES,
  maxIterations: MAX_ITERATIONS,
  maxWork: MAX_BODY_BYTES * 4,
  maxString: MAX_BODY_BYTES,
};

/**
 * ESO's `dataFrom[].rewrite[].transform`: a key's new name, rendered by a Go template (engine v2,
 * same bounds) whose data is `{ value: key }`; errors name `field`.
 */
export function renderKeyTemplate(template: string, key: string, field: string): string {
  const out = renderGoTemplates(
    { key: template },
    { value: new TextEncoder().encode(key) },
    GO_LIMITS,
    () => field,
  );
  return Buffer.from(out.key ?? new Uint8Array()).toString("utf8");
}

/**
 * `spec.target.template.engineVersion`: "v1" (or absent) is Handlebars,
 * refsync's default; "v2" is Go's text/template with Sprig, as ESO's engine
 * v2 (src/template/go/).
 */
export type EngineVersion = "v1" | "v2";

/**
 * Renders each template with `values` (the fetched keys' bytes) as its
 * context: `{{password}}`, `{{b64enc (lookup . "tls.crt")}}` (Handlebars), or
 * `{{ .password | b64enc }}` (v2). Each output is bytes: values copied as
 * they are, literal text as UTF-8. Both engines have the same bounds.
 */
export function renderTemplates(
  templates: Record<string, string>,
  values: Record<string, Uint8Array>,
  engine: EngineVersion = "v1",
  /** The field a template key is at, for messages. */
  field: (key: string) => string = (key) => `spec.target.template.data.${key}`,
): Record<string, Uint8Array> {
  if (engine === "v2") return renderGoTemplates(templates, values, GO_LIMITS, field);
  const out: Record<string, Uint8Array> = {};
  const context = Object.freeze(
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        binary(k),
        Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("latin1"),
      ]),
    ),
  );
  for (const [key, source] of Object.entries(templates)) {
    if (Buffer.byteLength(source) > MAX_TEMPLATE_BYTES) {
      throw new InvalidSpecError(`${field(key)}: template larger than ${MAX_TEMPLATE_BYTES} bytes`);
    }
    let rendered: string;
    work = { iterations: 0, bytes: 0 };
    try {
      rendered = compile(source)(context, {
        allowProtoPropertiesByDefault: false,
        allowProtoMethodsByDefault: false,
      });
    } catch (err) {
      throw new InvalidSpecError(`${field(key)}: ${describe(err)}`);
    }
    if (rendered.length > MAX_OUTPUT_BYTES) {
      throw new InvalidSpecError(`${field(key)}: output larger than ${MAX_OUTPUT_BYTES} bytes`);
    }
    // Every helper returns bytes; a char above 255 would be cut to its low byte by latin1.
    if (/[\u0100-\uffff]/.test(rendered)) throw new InvalidSpecError(`${field(key)}: template failed`);
    out[key] = new Uint8Array(Buffer.from(rendered, "latin1"));
  }
  return out;
}
