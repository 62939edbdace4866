/**
 * Editing YAML files in place with the `yaml` Document API. Only documents
 * that were changed are re-serialised (comments kept, in the file's own
 * indentation style); every other document keeps its exact original text.
 */
import {
  Composer,
  isMap,
  isScalar,
  isSeq,
  Parser,
  type Document,
  type Node,
  type ToStringOptions,
} from "yaml";
import type { PathSegment } from "../refs/index.ts";

export interface EditableYaml {
  docs: Document.Parsed[];
  /** The file's text with the documents in `changed` re-serialised. */
  render(changed: ReadonlySet<number>): string;
}

/** Parses `text` for editing; throws naming `file` and the line when it is not valid YAML. */
export function parseEditable(text: string, file: string): EditableYaml {
  const tokens = [...new Parser().parse(text)];
  const docs = [...new Composer({ keepSourceTokens: false }).compose(tokens)];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) throw new Error(`${file}: not valid YAML: ${error.message.split("\n")[0]}`);
  }
  // Each document's source runs from its `---` (or the file's start) to the next document.
  const starts = tokens.filter((t) => t.type === "document").map((t, i) => (i === 0 ? 0 : t.offset));
  const segments = starts.map((start, i) => text.slice(start, starts[i + 1] ?? text.length));
  const style = detectStyle(text);
  return {
    docs,
    render(changed) {
      return segments.map((original, i) => (changed.has(i) ? docs[i]!.toString(style) : original)).join("");
    },
  };
}

/** The file's own conventions, so a rewritten document looks like its neighbours. */
function detectStyle(text: string): ToStringOptions {
  const indent = /^( +)\S/m.exec(text)?.[1]?.length ?? 2;
  // `key:\n- item` (sequence at the key's indentation) rather than `key:\n  - item`.
  const flatSeq = /^( *)[^\s#-][^\n]*:\s*\n\1- /m.test(text);
  const paddedFlow = /[{[] \S/.test(text) || !/[{[][^\s\]}]/.test(text);
  return {
    indent: Math.min(Math.max(indent, 1), 8),
    indentSeq: !flatSeq,
    lineWidth: 0,
    flowCollectionPadding: paddedFlow,
  };
}

/** Calls `visit` for every node below `node`, with its path and the collection holding it. */
export function walkNodes(
  node: Node,
  visit: (node: Node, path: PathSegment[], parent: Node | undefined) => void,
  path: PathSegment[] = [],
  parent?: Node,
): void {
  visit(node, path, parent);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && pair.value && typeof pair.value === "object") {
        walkNodes(pair.value as Node, visit, [...path, String(pair.key.value)], node);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      if (item && typeof item === "object") walkNodes(item as Node, visit, [...path, i], node);
    });
  }
}

/** A string at `key` of a map node, if there is one. */
export function stringAt(node: unknown, key: string): string | undefined {
  if (!isMap(node)) return undefined;
  const v = node.get(key);
  return typeof v === "string" ? v : undefined;
}

/** The object's `metadata.annotations` as plain strings. */
export function annotationsOf(root: unknown): Record<string, string> | undefined {
  const node = isMap(root) ? root.getIn(["metadata", "annotations"], true) : undefined;
  return isMap(node) ? (node.toJSON() as Record<string, string>) : undefined;
}

/** `Kind/[namespace/]name`, as src/refs names objects in messages. */
export function objectOf(root: unknown): string | undefined {
  const kind = stringAt(root, "kind");
  const metadata = isMap(root) ? root.get("metadata", true) : undefined;
  const name = stringAt(metadata, "name");
  const namespace = stringAt(metadata, "namespace");
  return kind && name ? `${kind}/${namespace ? `${namespace}/` : ""}${name}` : undefined;
}
