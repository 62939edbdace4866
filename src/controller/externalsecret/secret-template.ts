/**
 * `spec.target.template` applied as ESO applies it, into the Secret's data,
 * labels and annotations:
 *
 * 1. the template's metadata labels and annotations, as written;
 * 2. the values read (data, dataFrom), when there is no template, when it has
 *    neither data nor templateFrom, or with mergePolicy Merge;
 * 3. templateFrom, in order; each item's configMap, then secret, then literal;
 *    a key rendered later replaces one rendered before;
 * 4. template.data (so its keys take precedence);
 * 5. with engine v2, the metadata labels and annotations rendered as templates.
 *
 * ConfigMaps and Secrets named by templateFrom are those of the
 * ExternalSecret's namespace, read by `sources` (a direct GET each: no
 * watch). Errors name the field, the object and the key, never a value.
 */
import { parse as parseYaml } from "yaml";
import type { ExternalSecretTarget } from "../../api/v1alpha1.ts";
import { SecretNotFoundError, InvalidSpecError } from "../../errors.ts";
import { decode } from "../../providers/extract.ts";
import type { KubeClient } from "../../kube/client.ts";
import { resourceTypes } from "../../kube/resources.ts";
import { renderTemplates, type EngineVersion } from "../../template/engine.ts";

type Template = NonNullable<ExternalSecretTarget["template"]>;
type TemplateFrom = NonNullable<Template["templateFrom"]>[number];
type Target = NonNullable<TemplateFrom["target"]>;

/** Reads the ConfigMaps and Secrets templateFrom names, in the ExternalSecret's namespace. */
export interface TemplateSources {
  /** A ConfigMap's data; undefined when it does not exist. */
  configMap(name: string): Promise<Record<string, string> | undefined>;
  /** A Secret's data (bytes); undefined when it does not exist. */
  secret(name: string): Promise<Record<string, Uint8Array> | undefined>;
}

/** The sources as direct GETs in `namespace` (RBAC: get on configmaps and secrets; no watch, no cache). */
export function templateSources(kube: KubeClient, namespace: string, signal: AbortSignal): TemplateSources {
  const get = <T>(type: typeof resourceTypes.secret, name: string) =>
    kube.get<T>(type, namespace, name, signal);
  return {
    configMap: async (name) => {
      const cm = await get<{ data?: Record<string, string> }>(resourceTypes.configMap, name);
      return cm && (cm.data ?? {});
    },
    secret: async (name) => {
      const secret = await get<{ data?: Record<string, string> }>(resourceTypes.secret, name);
      if (!secret) return undefined;
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, "base64"))]),
      );
    },
  };
}

export interface TemplatedSecret {
  data: Record<string, Uint8Array>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

class Output implements TemplatedSecret {
  data: Record<string, Uint8Array> = {};
  labels: Record<string, string> = {};
  annotations: Record<string, string> = {};

  set(target: Target, key: string, value: Uint8Array): void {
    if (target === "Data") this.data[key] = value;
    else if (target === "Labels") this.labels[key] = utf8(value);
    else this.annotations[key] = utf8(value);
  }
}

/**
 * A KeysAndValues template's output: YAML, a map of strings, each entry a
 * key (ESO reads it into a map[string]string: a null value is "", another
 * non-string value is an error).
 */
function keysAndValues(rendered: Uint8Array, field: string): Record<string, Uint8Array> {
  let parsed: unknown;
  try {
    parsed = parseYaml(utf8(rendered));
  } catch {
    throw new InvalidSpecError(`${field}: the rendered template is not YAML (KeysAndValues renders a map)`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new InvalidSpecError(`${field}: the rendered template is not a map (KeysAndValues renders a map)`);
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (v !== null && typeof v !== "string")
      throw new InvalidSpecError(`${field}: the rendered map's key "${k}" is not a string (quote the value)`);
    out[k] = new TextEncoder().encode(v ?? "");
  }
  return out;
}

export async function applyTemplate(
  template: Template | undefined,
  values: Record<string, Uint8Array>,
  sources: TemplateSources,
): Promise<TemplatedSecret> {
  const out = new Output();
  if (!template) {
    out.data = { ...values };
    return out;
  }
  out.labels = { ...template.metadata?.labels };
  out.annotations = { ...template.metadata?.annotations };
  const data = template.data ?? {};
  const from = template.templateFrom ?? [];
  if (template.mergePolicy === "Merge" || (Object.keys(data).length === 0 && from.length === 0))
    out.data = { ...values };
  const engine: EngineVersion = template.engineVersion ?? "v1";
  for (const [i, item] of from.entries())
    await applyTemplateFrom(item, `spec.target.template.templateFrom[${i}]`);
  for (const [key, value] of Object.entries(renderTemplates(data, values, engine))) out.data[key] = value;
  if (engine === "v2") {
    const meta = (kind: "labels" | "annotations", target: Target) => {
      const templates = template.metadata?.[kind] ?? {};
      const field = (key: string) => `spec.target.template.metadata.${kind}.${key}`;
      for (const [key, value] of Object.entries(renderTemplates(templates, values, engine, field)))
        out.set(target, key, value);
    };
    meta("labels", "Labels");
    meta("annotations", "Annotations");
  }
  return out;

  async function applyTemplateFrom(item: TemplateFrom, at: string): Promise<void> {
    const target = item.target ?? "Data";
    const emit = (key: string, value: Uint8Array) =>
      out.set(target, key, decode(value, item.valuesDecodingStrategy, { store: at, key }));
    const render = (source: string, field: string, asMap: boolean, key: string) => {
      const rendered = renderTemplates({ [key]: source }, values, engine, () => field)[key] as Uint8Array;
      if (!asMap) return emit(key, rendered);
      for (const [k, v] of Object.entries(keysAndValues(rendered, field))) emit(k, v);
    };
    for (const kind of ["configMap", "secret"] as const) {
      const ref = item[kind];
      if (!ref) continue;
      const Kind = kind === "configMap" ? "ConfigMap" : "Secret";
      const found = kind === "configMap" ? await sources.configMap(ref.name) : await sources.secret(ref.name);
      if (!found)
        throw new SecretNotFoundError(`${at}.${kind}: ${Kind} "${ref.name}" not found in this namespace`);
      for (const [j, entry] of ref.items.entries()) {
        const raw = found[entry.key];
        const field = `${at}.${kind}.items[${j}]`;
        if (raw === undefined)
          throw new SecretNotFoundError(`${field}: ${Kind} "${ref.name}" has no key "${entry.key}"`);
        render(
          typeof raw === "string" ? raw : utf8(raw),
          field,
          entry.templateAs === "KeysAndValues",
          entry.key,
        );
      }
    }
    if (item.literal !== undefined) render(item.literal, `${at}.literal`, true, "literal");
  }
}
