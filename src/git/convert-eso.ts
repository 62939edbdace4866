/**
 * `refsync convert --from eso`: External Secrets Operator objects
 * (`external-secrets.io/v1`, `v1beta1`) rewritten in place as refsync's
 * kinds, with the conversion of src/api/eso.ts (the plugin's own), keeping
 * the file's comments and layout: only the fields that change are edited,
 * and documents with nothing to convert keep their exact text. Each change
 * is one report line; a field refsync does not implement is an error naming
 * file, document, object and field, and then nothing is written.
 */
import { isMap, type Document } from "yaml";
import { convertEsoObject, isEsoObject } from "../api/eso.ts";
import { formatLocation } from "../refs/index.ts";
import { objectOf, parseEditable } from "./yaml-edit.ts";

export interface EsoConvertResult {
  text: string;
  /** Objects converted. */
  converted: number;
  /** One line per field changed: `file: document N: Kind/name: path: what`. */
  changes: string[];
  /** One line per problem; when any, `text` is the input unchanged. */
  errors: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isScalarValue = (v: unknown): boolean => v === null || typeof v !== "object";
const show = (v: unknown): string => (isScalarValue(v) ? JSON.stringify(v) : "(a structure)");
const pathText = (path: (string | number)[]): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/** Every scalar below `value`, with its path. */
function leaves(value: unknown, path: (string | number)[]): [(string | number)[], unknown][] {
  if (isRecord(value)) return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  return [[path, value]];
}

/** Edits `doc` from `before` to `after` field by field, listing each change. */
function applyDiff(
  doc: Document.Parsed,
  before: unknown,
  after: unknown,
  path: (string | number)[],
  changes: string[],
  dropped: ReadonlyMap<string, string>,
): void {
  if (isRecord(before) && isRecord(after)) {
    for (const key of Object.keys(before)) {
      if (!(key in after)) {
        doc.deleteIn([...path, key]);
        const at = pathText([...path, key]);
        const why = dropped.get(at) ?? "ESO's default or refsync's behaviour";
        changes.push(`${at}: removed (${show(before[key])}, ${why})`);
      }
    }
    for (const [key, value] of Object.entries(after)) {
      if (!(key in before)) {
        doc.setIn([...path, key], doc.createNode(value));
        for (const [leaf, v] of leaves(value, [...path, key]))
          changes.push(`${pathText(leaf)}: set to ${show(v)}`);
      } else applyDiff(doc, before[key], value, [...path, key], changes, dropped);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((item, i) => applyDiff(doc, item, after[i], [...path, i], changes, dropped));
    return;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  doc.setIn(path, doc.createNode(after));
  changes.push(`${pathText(path)}: ${show(before)} → ${show(after)}`);
}

/** Converts every ESO object of a YAML file's text. */
export function convertEsoYaml(text: string, file: string): EsoConvertResult {
  const editable = parseEditable(text, file);
  const result: EsoConvertResult = { text, converted: 0, changes: [], errors: [] };
  const changed = new Set<number>();
  editable.docs.forEach((doc, index) => {
    const value: unknown = doc.toJS();
    if (!isEsoObject(value) || !isMap(doc.contents)) return;
    const object = objectOf(doc.contents);
    const where = formatLocation({ file, document: index, ...(object ? { object } : {}) });
    const conversion = convertEsoObject(value);
    if (!conversion.ok) {
      result.errors.push(...conversion.problems.map((p) => `${where}: ${p}`));
      return;
    }
    const lines: string[] = [];
    const dropped = new Map(conversion.dropped.map((d) => [d.path, d.why]));
    applyDiff(doc, value, conversion.object, [], lines, dropped);
    result.changes.push(...lines.map((line) => `${where}: ${line}`));
    result.converted++;
    changed.add(index);
  });
  if (!result.errors.length) result.text = editable.render(changed);
  return result;
}
