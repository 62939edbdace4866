/**
 * Deferred mode: a Secret holding references becomes an ExternalSecret with
 * the same name, namespace, labels, annotations and type (through
 * `target.template`), so no value is fetched at render time. Whole-value
 * references become `data[]` entries; when the Secret also holds literals or
 * references embedded in longer strings, every key becomes a Handlebars
 * template (`{{ ref_url }}`) over generated `data[]` keys, which the
 * controller renders with HTML escaping off. AVP placeholders in `data`
 * give the bytes inline mode gives (secret-data.ts): `<key>` reads with
 * decodingStrategy Base64, `<key | base64encode>` reads the value as it is.
 */
import {
  API_VERSION,
  type ExternalSecret,
  type ExternalSecretData,
  type RemoteRef,
} from "../api/v1alpha1.ts";
import { AVP_REMOVE_MISSING_ANNOTATION, avpRemoveMissing, type Modifier } from "../refs/avp.ts";
import { formatLocation, type RefLocation } from "../errors.ts";
import { formatPath, objectName, type Occurrence, type SourceDocument, type Token } from "../refs/find.ts";
import { decodingStrategy, type Reference } from "../refs/reference.ts";
import { asIsBytes, dataForm } from "../refs/secret-data.ts";
import type { ProviderName } from "../refs/reference.ts";

export interface StoreDefaults {
  /** Store of references that name none, chosen by the application (ARGOCD_ENV_REFSYNC_STORE). */
  override?: string;
  /** Per provider, from the plugin configuration; otherwise a SecretStore named after the provider. */
  byProvider: Partial<Record<ProviderName, string>>;
}

export function storeOf(ref: Reference, defaults: StoreDefaults): string {
  return ref.store ?? defaults.override ?? defaults.byProvider[ref.provider] ?? ref.provider;
}

type Value = { kind: "literal"; text: string; binary: boolean } | { kind: "refs"; occurrence: Occurrence };

interface Metadata {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
// AVP modifiers the controller's template helpers can do.
const TEMPLATE_HELPERS: Partial<Record<Modifier["name"], string>> = {
  base64encode: "b64enc",
  base64decode: "b64dec",
};

function withoutPrefixes(
  map: Record<string, string> | undefined,
  prefixes: string[],
): Record<string, string> | undefined {
  if (!map) return undefined;
  const kept = Object.entries(map).filter(([k]) => !prefixes.some((p) => k.startsWith(p)));
  return kept.length ? Object.fromEntries(kept) : undefined;
}

function remoteRef(ref: Reference): RemoteRef {
  const strategy = decodingStrategy(ref);
  return {
    key: ref.path,
    ...(ref.fragment === undefined ? {} : { property: ref.fragment }),
    ...(ref.version === undefined ? {} : { version: ref.version }),
    ...(strategy === undefined ? {} : { decodingStrategy: strategy }),
  };
}

/** Handlebars source for literal text: `{{` must not open an expression. */
function escapeLiteral(text: string): string {
  return text.replaceAll("{{", "\\{{");
}

function spansWhole(o: Occurrence): boolean {
  const t = o.tokens[0] as Token;
  return o.tokens.length === 1 && t.start === 0 && t.end === o.text.length;
}

/** What the controller does for one reference: read `ref`, then apply the template helpers in order. */
interface Plan {
  ref: Reference;
  helpers: string[];
}

/**
 * A reference's plan, or the problem when the controller cannot give what
 * inline mode gives. In a Secret's `data`, an AVP placeholder's value is
 * the base64 text itself (secret-data.ts): the Secret's bytes are that
 * text decoded, so a whole-value `<key>` reads with decodingStrategy
 * Base64 and `<key | base64encode>` reads the value as it is.
 */
function planOf(o: Occurrence, t: Token): Plan | string {
  let ref = t.ref;
  let modifiers = t.modifiers;
  const last: string[] = [];
  if (o.path[0] === "data" && dataForm(t.syntax, o.base64) === "as-is") {
    if (!spansWhole(o)) {
      return "an AVP placeholder embedded in a data value needs inline mode (--mode inline), or move it to stringData";
    }
    const bytes = asIsBytes(t.modifiers);
    modifiers = bytes.modifiers;
    if (bytes.decodeBase64 && modifiers.length === 0) ref = { ...ref, decode: "base64" };
    else if (bytes.decodeBase64) last.push("b64dec");
  }
  const helpers: string[] = [];
  for (const m of modifiers) {
    const helper = TEMPLATE_HELPERS[m.name];
    if (!helper) return `AVP modifier "${m.name}" needs inline mode (--mode inline)`;
    helpers.push(helper);
  }
  return { ref, helpers: [...helpers, ...last] };
}

export interface DeferredResult {
  value?: ExternalSecret;
  errors: string[];
}

/** Turns one Secret with references into an ExternalSecret. */
export function toExternalSecret(
  doc: SourceDocument,
  occurrences: Occurrence[],
  defaults: StoreDefaults,
): DeferredResult {
  const secret = doc.value as {
    metadata?: Metadata;
    type?: string;
    data?: Record<string, unknown>;
    stringData?: Record<string, unknown>;
  };
  const errors: string[] = [];
  const fail = (loc: RefLocation, problem: string) => errors.push(`${formatLocation(loc)}: ${problem}`);

  const byPath = new Map(occurrences.map((o) => [`${String(o.path[0])}\u0000${String(o.path[1])}`, o]));
  for (const o of occurrences) {
    if ((o.path[0] !== "data" && o.path[0] !== "stringData") || o.path.length !== 2) {
      fail(o.location, "a Secret's references are read only from data and stringData");
    }
  }

  // Keys in Kubernetes' order of precedence: stringData overrides data.
  const values = new Map<string, Value>();
  for (const field of ["data", "stringData"] as const) {
    const map: unknown = secret[field] ?? {};
    if (typeof map !== "object" || map === null || Array.isArray(map)) {
      fail(
        { file: doc.file, document: doc.index, object: objectName(secret), path: field },
        "must be a map of keys to strings",
      );
      continue;
    }
    for (const [key, raw] of Object.entries(map)) {
      const occurrence = byPath.get(`${field}\u0000${key}`);
      if (occurrence) values.set(key, { kind: "refs", occurrence });
      else if (field === "stringData") values.set(key, { kind: "literal", text: String(raw), binary: false });
      else {
        const bytes = Buffer.from(String(raw), "base64");
        let text: string;
        try {
          text = utf8.decode(bytes);
        } catch {
          values.set(key, { kind: "literal", text: "", binary: true });
          continue;
        }
        values.set(key, { kind: "literal", text, binary: false });
      }
    }
  }

  if (avpRemoveMissing(secret.metadata?.annotations)) {
    fail(
      { file: doc.file, document: doc.index, object: objectName(secret) },
      `${AVP_REMOVE_MISSING_ANNOTATION} needs inline mode (--mode inline)`,
    );
  }
  const plans = new Map<Token, Plan>();
  for (const o of occurrences) {
    for (const t of o.tokens) {
      const plan = planOf(o, t);
      if (typeof plan === "string") fail(o.location, plan);
      else plans.set(t, plan);
    }
  }
  const isWhole = (o: Occurrence) => spansWhole(o) && plans.get(o.tokens[0] as Token)?.helpers.length === 0;

  const stores = new Set<string>();
  for (const o of occurrences) for (const t of o.tokens) stores.add(storeOf(t.ref, defaults));
  if (stores.size > 1) {
    fail(
      { file: doc.file, document: doc.index, object: occurrences[0]?.location.object },
      `references in one Secret must use one store, found ${[...stores].sort().join(", ")}; split the Secret`,
    );
  }

  const templated = [...values.values()].some((v) => v.kind === "literal" || !isWhole(v.occurrence));
  const data: ExternalSecretData[] = [];
  // remoteRef JSON → secretKey, shared by the templates that read it. Without templates each key is
  // its own data[] entry, even when two keys read the same value (the controller reads it once).
  const names = new Map<string, string>();
  const nameFor = (key: string, ref: Reference): string => {
    const id = templated ? JSON.stringify(remoteRef(ref)) : `key\u0000${key}`;
    let name = names.get(id);
    if (name === undefined) {
      const base = templated ? `ref_${key.replace(/[^A-Za-z0-9_]/g, "_")}` : key;
      name = base;
      for (let i = 1; data.some((d) => d.secretKey === name); i++) name = `${base}_${i}`;
      names.set(id, name);
      data.push({ secretKey: name, remoteRef: remoteRef(ref) });
    }
    return name;
  };

  const templates: Record<string, string> = {};
  for (const [key, v] of values) {
    if (v.kind === "literal") {
      if (v.binary) {
        fail(
          {
            file: doc.file,
            document: doc.index,
            object: occurrences[0]?.location.object,
            path: formatPath(["data", key]),
          },
          "a binary literal cannot share a Secret with references in deferred mode; move it to another Secret",
        );
      }
      templates[key] = escapeLiteral(v.text);
      continue;
    }
    const o = v.occurrence;
    let source = "";
    let at = 0;
    for (const t of o.tokens) {
      source += escapeLiteral(o.text.slice(at, t.start));
      const plan = plans.get(t);
      if (!plan) continue; // its problem is reported
      let expression = nameFor(key, plan.ref);
      for (const helper of plan.helpers)
        expression = /^\w+$/.test(expression) ? `${helper} ${expression}` : `${helper} (${expression})`;
      source += `{{ ${expression} }}`;
      at = t.end;
    }
    templates[key] = source + escapeLiteral(o.text.slice(at));
  }
  if (errors.length) return { errors };

  const meta = secret.metadata ?? {};
  const [storeName = ""] = stores;
  const cluster = storeName.startsWith("ClusterSecretStore/");
  const labels = meta.labels && Object.keys(meta.labels).length ? meta.labels : undefined;
  const annotations = withoutPrefixes(meta.annotations, ["avp.kubernetes.io/"]);
  const templateAnnotations = withoutPrefixes(meta.annotations, [
    "avp.kubernetes.io/",
    "argocd.argoproj.io/",
  ]);
  const templateMetadata = {
    ...(labels ? { labels } : {}),
    ...(templateAnnotations ? { annotations: templateAnnotations } : {}),
  };
  const template = {
    ...(secret.type === undefined ? {} : { type: secret.type }),
    ...(Object.keys(templateMetadata).length ? { metadata: templateMetadata } : {}),
    ...(templated ? { data: templates } : {}),
  };
  const value: ExternalSecret = {
    apiVersion: API_VERSION,
    kind: "ExternalSecret",
    metadata: {
      name: meta.name ?? "",
      ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      secretStoreRef: cluster
        ? { name: storeName.slice("ClusterSecretStore/".length), kind: "ClusterSecretStore" }
        : { name: storeName, kind: "SecretStore" },
      target: { name: meta.name ?? "", ...(Object.keys(template).length ? { template } : {}) },
      data,
    },
  };
  return { value, errors };
}

/** The error for a reference outside a Secret in deferred mode. */
export function notInSecret(o: Occurrence): string {
  return `${formatLocation(o.location)}: deferred mode resolves references only in Secrets; move this value into a Secret, or use inline mode`;
}
