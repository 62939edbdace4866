/**
 * `refsync convert`: argocd-vault-plugin placeholders become `ref+`
 * references, in place, keeping the file's comments and layout. A generic
 * `<key>` takes its path from the avp.kubernetes.io/path annotation, which is
 * removed once nothing needs it. Placeholders whose modifiers have no `ref+`
 * form are left as they are (refsync still reads them) and listed.
 */
import { isScalar, type Document } from "yaml";
import {
  asIsBytes,
  AVP_PATH_ANNOTATION,
  AVP_VERSION_ANNOTATION,
  avpIgnored,
  avpToReference,
  findAvpPlaceholders,
  findReferences,
  formatLocation,
  formatPath,
  formatReference,
  InvalidReferenceError,
  isSecret,
  dataForm,
  type AvpPlaceholder,
  type AvpSource,
  type AvpTarget,
  type Decode,
  type RefLocation,
} from "../refs/index.ts";
import { annotationsOf, objectOf, parseEditable, walkNodes } from "./yaml-edit.ts";

/** What AVP placeholders read: provider, store, KV version and Vault mounts (refsync.yaml's `avp`). */
export type ConvertOptions = AvpSource;

export interface ConvertResult {
  text: string;
  converted: number;
  /** Placeholders left as they are, and why. */
  kept: string[];
  /** Per store, the Vault mounts converted placeholders read through it. */
  mounts: Map<string, Set<string>>;
}

/**
 * The `decode` a placeholder's reference needs to give what AVP gives, or
 * undefined when its modifiers have no `ref+` form. In a Secret's `data`
 * the reference yields the Secret's bytes: secret-data.ts says which.
 */
function decodeFor(p: AvpPlaceholder, inSecretData: boolean): { decode?: Decode } | undefined {
  const { modifiers, decodeBase64 } =
    inSecretData && dataForm("avp", false) === "as-is"
      ? asIsBytes(p.modifiers)
      : { modifiers: p.modifiers, decodeBase64: false };
  const decodes = modifiers.filter((m) => m.name === "base64decode").length + (decodeBase64 ? 1 : 0);
  if (modifiers.some((m) => m.name !== "base64decode") || decodes > 1) return undefined;
  return decodes === 1 ? { decode: "base64" } : {};
}

function convertDocument(
  doc: Document.Parsed,
  location: RefLocation,
  options: ConvertOptions,
  result: ConvertResult,
): boolean {
  const root = doc.contents;
  if (!root) return false;
  const annotations = annotationsOf(root);
  if (avpIgnored(annotations)) return false;
  const secret = isSecret(root.toJSON());
  const object = objectOf(root);
  let changed = false;
  let genericKept = false;
  walkNodes(root, (node, path) => {
    if (!isScalar(node) || typeof node.value !== "string") return;
    if (path[0] === "metadata" && path[1] === "annotations") return;
    const text = node.value;
    const where = { ...location, ...(object ? { object } : {}), path: formatPath(path) };
    let placeholders: { p: AvpPlaceholder; target: AvpTarget }[];
    try {
      const refs = findReferences(text);
      // A placeholder inside a ref+ reference is part of it.
      placeholders = findAvpPlaceholders(text, { annotations })
        .filter((p) => !refs.some((r) => p.start < r.end && r.start < p.end))
        .map((p) => ({ p, target: avpToReference(p, options, annotations) }));
    } catch (err) {
      if (err instanceof InvalidReferenceError) {
        throw new InvalidReferenceError(err.problem, { ...where, offset: err.location.offset });
      }
      throw err;
    }
    if (placeholders.length === 0) return;
    const inSecretData = secret && path.length === 2 && path[0] === "data";
    let out = "";
    let at = 0;
    for (const { p, target } of placeholders) {
      const whole = p.start === 0 && p.end === text.length;
      const decode = inSecretData && !whole ? undefined : decodeFor(p, inSecretData);
      out += text.slice(at, p.start);
      at = p.end;
      if (!decode) {
        out += text.slice(p.start, p.end);
        genericKept ||= p.generic;
        const why =
          inSecretData && !whole ? "is embedded in a data value" : "uses modifiers with no ref+ form";
        result.kept.push(`${formatLocation(where)}: placeholder ${why}`);
        continue;
      }
      // A reference that does not span the whole value needs the end marker.
      out += formatReference({ ...target.ref, ...decode }, !(p.start === 0 && p.end === text.length));
      result.converted++;
      if (target.mount !== undefined) {
        const store = target.ref.store ?? `(default ${options.provider} store)`;
        result.mounts.set(store, (result.mounts.get(store) ?? new Set()).add(target.mount));
      }
    }
    out += text.slice(at);
    if (out !== text) {
      node.value = out;
      changed = true;
    }
  });
  if (changed && !genericKept && annotations && AVP_PATH_ANNOTATION in annotations) {
    for (const key of [AVP_PATH_ANNOTATION, AVP_VERSION_ANNOTATION])
      doc.deleteIn(["metadata", "annotations", key]);
    const left = doc.getIn(["metadata", "annotations"]) as { items?: unknown[] } | undefined;
    if (left?.items?.length === 0) doc.deleteIn(["metadata", "annotations"]);
  }
  return changed;
}

/** Converts every placeholder in a YAML file's text; throws naming file, document, object and path on a malformed one. */
export function convertYaml(text: string, file: string, options: ConvertOptions): ConvertResult {
  const editable = parseEditable(text, file);
  const result: ConvertResult = { text, converted: 0, kept: [], mounts: new Map() };
  const changed = new Set<number>();
  editable.docs.forEach((doc, index) => {
    if (convertDocument(doc, { file, document: index }, options, result)) changed.add(index);
  });
  result.text = editable.render(changed);
  return result;
}
