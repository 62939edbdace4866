/**
 * Finds credentials in the text of one file. Pure: the same text and file
 * kind always give the same findings, so the history scan caches them by blob
 * id. A finding says where (line, object, key), never what.
 */
import { isScalar, LineCounter, parseAllDocuments, type Node } from "yaml";
import { formatPath, type PathSegment } from "../refs/index.ts";
import {
  isCredentialKey,
  isNonSecretLiteral,
  matchPatterns,
  PASSWORD_IN_VALUES,
  PATTERN_RULES,
  SECRET_LITERAL,
} from "./rules.ts";
import { containsReference } from "./references.ts";
import { annotationsOf, objectOf, stringAt, walkNodes } from "./yaml-edit.ts";

export interface Detection {
  rule: string;
  line: number;
  /** `Kind/name` of the Kubernetes object, when the file holds one. */
  object?: string;
  /** YAML path (`stringData.password`, `postgresql.auth.password`) or variable name. */
  key?: string;
}

export type FileKind = "yaml" | "config" | "text";

/** How a path is read: structured YAML/JSON, `KEY=value` config lines, or any other text (patterns only). */
export function fileKind(path: string): FileKind {
  const name = path.slice(path.lastIndexOf("/") + 1).toLowerCase();
  if (/\.(ya?ml|json)$/.test(name)) return "yaml";
  if (/^\.env(\..*)?$|\.(env|properties|ini|conf|cfg|tpl|toml)$/.test(name)) return "config";
  return "text";
}

export function detect(text: string, kind: FileKind): Detection[] {
  return mayHaveFindings(text) ? detectAll(text, kind) : [];
}

/** Detection without the pre-filter (what `detect` must always agree with). */
export function detectAll(text: string, kind: FileKind): Detection[] {
  if (kind === "yaml") {
    const structured = detectYaml(text);
    if (structured) return structured;
  }
  // Not YAML, or YAML that does not parse (a Helm template): fall back to lines.
  return detectLines(text, kind !== "text");
}

const SECRET_KIND = /["']?kind["']?\s*:\s*["']?Secret\b/;
// A key (quoted, or plain and possibly with spaces) followed by `:` or `=`, and (looking ahead, so that
// keys later on the same line still match) the rest of its line.
const ASSIGNMENT = /(?:"([^"\n]*)"|'([^'\n]*)'|([A-Za-z_][\w.\-/ ]*))\s*[:=](?=[ \t]*([^\n]*))/g;
// What a credential-named key may hold without being reported.
const HARMLESS_VALUE =
  /^["']?(\{\{[^\n]*\}\}|\$\{[^}]+\}|\$\([^)]+\)|ref\+[a-z0-9]+:\/\/\S*|\/[\w./-]+)["']?\s*(#.*)?$/;

/**
 * A cheap, conservative test run before parsing: false only when the text
 * cannot produce a finding (most manifests), so that the YAML parser, the
 * scanner's main cost, runs only where it can matter. It errs towards true.
 */
export function mayHaveFindings(text: string): boolean {
  if (PATTERN_RULES.some((rule) => rule.pattern.test(text)) || SECRET_KIND.test(text)) return true;
  let lines: string[] | undefined;
  for (const m of text.matchAll(ASSIGNMENT)) {
    const key = m[1] ?? m[2] ?? m[3] ?? "";
    const rest = m[4] ?? "";
    if (isCredentialKey(key) && !HARMLESS_VALUE.test(rest.trim())) return true;
    // `name: DB_PASSWORD` counts when its sequence item also has a `value:`.
    // The name may be quoted (JSON, YAML double/single quotes): drop the opening quote before cutting at the closing one.
    if (
      key.trim() === "name" &&
      isCredentialKey(
        rest
          .replace(/^["']/, "")
          .replace(/["',}\]].*$/, "")
          .trim(),
      )
    ) {
      lines ??= text.split("\n");
      if (itemHasValueKey(lines, text.slice(0, m.index).split("\n").length - 1)) return true;
    }
  }
  return false;
}

/** True when the sequence item holding `line` has a `value` key (or no item can be found). */
function itemHasValueKey(lines: string[], line: number): boolean {
  let start = line;
  while (start >= 0 && !/^\s*- /.test(lines[start] ?? "")) start--;
  if (start < 0) return true;
  const dash = (lines[start] ?? "").search(/\S/);
  let end = start + 1;
  while (end < lines.length && ((lines[end] ?? "").trim() === "" || (lines[end] ?? "").search(/\S/) > dash))
    end++;
  return lines.slice(start, end).some((l) => /(?:^|[\s{,"'-])["']?value["']?\s*:/.test(l));
}

function detectLines(text: string, assignments: boolean): Detection[] {
  const found: Detection[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    for (const rule of matchPatterns(line)) found.push({ rule: rule.id, line: i + 1 });
    if (!assignments) return;
    const m = /^\s*(?:export\s+|-\s+)?([A-Za-z_][\w.-]*)\s*[:=]\s*(.*?)\s*$/.exec(line);
    if (!m) return;
    const [, key = "", raw = ""] = m;
    const value = raw.replace(/^(["'])(.*)\1$/, "$2");
    if (isCredentialKey(key) && isLiteral(value) && matchPatterns(line).length === 0) {
      found.push({ rule: PASSWORD_IN_VALUES.id, line: i + 1, key });
    }
  });
  return found;
}

function isLiteral(value: string): boolean {
  return !isNonSecretLiteral(value) && !containsReference(value);
}

// Documents that name secrets rather than hold them (`secretKey: password` in an ExternalSecret).
const REFERENCE_API_GROUPS = /^(refsync\.dev|external-secrets\.io)\//;

/** Structured detection, or undefined when the text is not valid YAML. */
function detectYaml(text: string): Detection[] | undefined {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return undefined;
  const found: Detection[] = [];
  for (const doc of docs) {
    const root = doc.contents;
    if (!root) continue;
    const apiVersion = stringAt(root, "apiVersion") ?? "";
    if (REFERENCE_API_GROUPS.test(apiVersion)) continue;
    const object = objectOf(root);
    const isSecret = stringAt(root, "kind") === "Secret" && apiVersion === "v1";
    const annotations = annotationsOf(root);
    walkNodes(root, (node, path, parent) => {
      if (!isScalar(node) || typeof node.value !== "string") return;
      const value = node.value;
      const key = formatPath(path);
      const at = {
        line: lineCounter.linePos(node.range?.[0] ?? 0).line,
        ...(object ? { object } : {}),
        ...(key ? { key } : {}),
      };
      if (isSecret && (path[0] === "data" || path[0] === "stringData") && path.length === 2) {
        const plain = path[0] === "data" ? Buffer.from(value, "base64").toString("utf8") : value;
        if (value !== "" && !containsReference(plain, annotations))
          found.push({ rule: SECRET_LITERAL.id, ...at });
        return;
      }
      if (containsReference(value, annotations)) return;
      const patterns = matchPatterns(value);
      for (const rule of patterns) found.push({ rule: rule.id, ...at });
      if (patterns.length > 0) return;
      const name = keyName(path, parent);
      // `KEY=value` strings: Kustomize generator literals, `--db-password=…` arguments.
      const assignment = /^-{0,2}([A-Za-z_][\w.-]*)=(.*)$/s.exec(value);
      if (
        (name !== undefined && isCredentialKey(name) && !isNonSecretLiteral(value)) ||
        (assignment && isCredentialKey(assignment[1]!) && !isNonSecretLiteral(assignment[2]!))
      ) {
        found.push({ rule: PASSWORD_IN_VALUES.id, ...at });
      }
    });
  }
  return found;
}

/**
 * The name a value is filed under: its map key, or for `{name: X, value: v}`
 * entries (container env, Helm `extraEnv`) the `name`.
 */
function keyName(path: PathSegment[], parent: Node | undefined): string | undefined {
  const last = path.at(-1);
  if (typeof last !== "string") return undefined;
  return (last === "value" && stringAt(parent, "name")) || last;
}
