/**
 * argocd-vault-plugin's modifiers, applied in order to a resolved value in
 * inline mode. Errors say which modifier failed, never the value.
 */
import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import type { Modifier } from "./avp.ts";

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return JSON.stringify(value);
}

/**
 * The subset of Kubernetes JSONPath AVP users write: `{.a.b}`, `{.items[0].name}`,
 * `{['key.with.dots']}`. Undefined when nothing matches.
 */
export function jsonPath(expression: string, value: unknown): unknown {
  const body = expression
    .replace(/^\{\s*/, "")
    .replace(/\s*\}$/, "")
    .replace(/^\$/, "");
  const step = /\.([A-Za-z0-9_-]+)|\[(?:([0-9]+)|'([^']*)'|"([^"]*)")\]/y;
  let current = value;
  let pos = 0;
  while (pos < body.length) {
    step.lastIndex = pos;
    const m = step.exec(body);
    if (!m) throw new ModifierError(`jsonPath ${expression}: unsupported expression`);
    pos = step.lastIndex;
    const key = m[1] ?? m[3] ?? m[4];
    if (typeof current !== "object" || current === null) return undefined;
    current =
      key === undefined ? (current as unknown[])[Number(m[2])] : (current as Record<string, unknown>)[key];
  }
  return current;
}

export class ModifierError extends Error {
  override readonly name = "ModifierError";
}

export function applyModifiers(value: unknown, modifiers: Modifier[]): unknown {
  let current = value;
  for (const m of modifiers) {
    switch (m.name) {
      case "base64encode":
        current = Buffer.from(current instanceof Uint8Array ? current : text(current)).toString("base64");
        break;
      case "base64decode":
        current = Buffer.from(text(current), "base64").toString("utf8");
        break;
      case "sha256sum":
        current = createHash("sha256")
          .update(current instanceof Uint8Array ? current : text(current))
          .digest("hex");
        break;
      case "jsonParse":
        try {
          current = JSON.parse(text(current)) as unknown;
        } catch {
          throw new ModifierError("jsonParse: the value is not JSON");
        }
        break;
      case "yamlParse":
        try {
          current = parseYaml(text(current)) as unknown;
        } catch {
          throw new ModifierError("yamlParse: the value is not YAML");
        }
        break;
      case "jsonPath":
        if (typeof current === "string" || current instanceof Uint8Array)
          current = applyModifiers(current, [{ name: "jsonParse" }]);
        current = jsonPath(m.expression, current);
        if (current === undefined) throw new ModifierError(`jsonPath ${m.expression}: no match`);
        break;
      case "indent":
        current = text(current).replaceAll("\n", `\n${" ".repeat(m.width)}`);
        break;
    }
  }
  return current;
}
