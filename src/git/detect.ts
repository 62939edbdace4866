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

// Cheap pre-filter: text without any of these cannot produce a finding.
const HINTS =
  /pass|pwd|secret|token|key|credential|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|glpat-|xox|_live_|AIza|eyJ/i;

export function detect(text: string, kind: FileKind): Detection[] {
  if (!HINTS.test(text)) return [];
  if (kind === "yaml") {
    const structured = detectYaml(text);
    if (structured) return structured;
  }
  // Not YAML, or YAML that does not parse (a Helm template): fall back to lines.
  return detectLines(text, kind !== "text");
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
      const name = keyName(path, parent);
      if (
        patterns.length === 0 &&
        name !== undefined &&
        isCredentialKey(name) &&
        !isNonSecretLiteral(value)
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
