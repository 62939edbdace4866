/**
 * One YAML stream, byte-identical for the same input: documents in source
 * order, keys in source order, no line folding (long values stay on one
 * line, which Argo CD diffs best).
 */
import { stringify } from "yaml";

export function stringifyStream(values: unknown[]): string {
  return values.map((v) => stringify(v, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}
