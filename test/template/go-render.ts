// Rendering one Go template (engineVersion v2) for the template engine's unit suites: the
// data as ESO's map of strings, the output as UTF-8, and failures checked for their message
// and for never showing a value.
import assert from "node:assert/strict";
import { InvalidSpecError } from "../../src/errors.ts";
import { renderTemplates } from "../../src/template/engine.ts";

export function renderV2(source: string, data: Record<string, string> = {}): string {
  const values = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))]),
  );
  return Buffer.from(renderTemplates({ k: source }, values, "v2").k!).toString("utf8");
}

/** The template fails with InvalidSpec matching `message`, and the message does not contain `secret`. */
export function failsV2(source: string, message: RegExp, data: Record<string, string>, secret: string): void {
  assert.throws(
    () => renderV2(source, data),
    (e: unknown) => {
      assert.ok(e instanceof InvalidSpecError, String(e));
      assert.match(e.message, message, source);
      assert.ok(!e.message.includes(secret), `${source}: the error shows a value`);
      return true;
    },
  );
}

/** Each [template, expected output] renders with `data`. */
export function casesV2(list: [string, string][], data: Record<string, string> = {}): void {
  for (const [source, expected] of list) assert.equal(renderV2(source, data), expected, source);
}
