/**
 * What a reference's value becomes in a Secret's `data`: the one rule that
 * inline rendering, deferred rendering and `refsync convert` share.
 * Kubernetes holds `data` values base64-encoded; a value written in `data`
 * is one of:
 *
 * - AVP placeholders, written as they are (`<password | base64encode>`):
 *   each resolved value, after its modifiers, is inserted as it is, and
 *   the result is the base64 text Kubernetes decodes ("as-is"). This is
 *   AVP's rule: users write `| base64encode`, or keep base64 in the backend.
 * - base64 of text that holds placeholders or references (a template
 *   encoded by `kubectl create secret`): the decoded text takes the values
 *   and is encoded again ("encoded"), as AVP does.
 * - `ref+` references, written as they are: a reference yields the value's
 *   bytes, and those are encoded ("encoded"; refsync's rule, with
 *   `decode=base64` for a value the backend already holds as base64).
 */
import type { Modifier } from "./avp.ts";

export type DataForm = "as-is" | "encoded";

/** The form of a Secret `data` value from the syntax of its references and whether it was base64-decoded to find them. */
export function dataForm(syntax: "ref" | "avp", decoded: boolean): DataForm {
  return syntax === "avp" && !decoded ? "as-is" : "encoded";
}

/**
 * The Secret's bytes for a whole-value placeholder inserted as it is: the
 * modifiers to apply to the value, and whether their result is then
 * base64-decoded. A final `| base64encode` and that decoding cancel out.
 */
export function asIsBytes(modifiers: readonly Modifier[]): { modifiers: Modifier[]; decodeBase64: boolean } {
  if (modifiers.at(-1)?.name === "base64encode")
    return { modifiers: modifiers.slice(0, -1), decodeBase64: false };
  return { modifiers: [...modifiers], decodeBase64: true };
}

/** Go's base64.StdEncoding, which the API server decodes `data` with: padded, line breaks skipped. */
export function isStdBase64(text: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text.replace(/[\r\n]/g, ""));
}
