/**
 * Inline mode: resolve references now and substitute their values into any
 * manifest, as argocd-vault-plugin does — under the operator's policy. Every
 * distinct (store, key, version) is read once per run (batched with
 * readMany where the provider can), at most `concurrency` reads at a time. A
 * whole-value reference keeps the backend's type (number, boolean, object)
 * where Kubernetes allows it; a Secret's `data` follows secret-data.ts
 * (AVP placeholders inserted as they are, `ref+` values encoded), binary
 * values put in `stringData` move to `data`, and ConfigMap values are text.
 * avp.kubernetes.io/remove-missing drops the map entries whose placeholder's
 * key the secret does not hold. Objects that received values get the
 * `refsync.dev/refs` annotation (references and a version digest, no value).
 */
import { providerForSpec } from "../providers/registry.ts";
import { decode, selectProperty, toBytes } from "../providers/extract.ts";
import type { KubernetesSecretReader, ProviderClient, SecretValue } from "../providers/types.ts";
import {
  formatLocation,
  MissingKeyError,
  ModifierError,
  PlacementError,
  RefsyncError,
  SecretNotFoundError,
} from "../errors.ts";
import { applyModifiers } from "../refs/modifiers.ts";
import { AVP_REMOVE_MISSING_ANNOTATION, avpRemoveMissing } from "../refs/avp.ts";
import {
  annotationsOf,
  isSecret,
  objectName,
  type Occurrence,
  type SourceDocument,
  type Token,
} from "../refs/find.ts";
import { dataForm, isStdBase64 } from "../refs/secret-data.ts";
import { decodingStrategy, formatReference, type Reference } from "../refs/reference.ts";
import { ANNOTATION_REFS, formatRefsAnnotation, versionsDigest, type VersionRead } from "./annotation.ts";
import { denial, type PluginConfig, type Requester } from "./config.ts";
import { storeOf, type StoreDefaults } from "./deferred.ts";
import { limiter } from "./limit.ts";
import { storeClient } from "./provider-client.ts";
import type { AuditSubject, Auditor } from "../store/audit.ts";

export interface InlineOptions {
  config: PluginConfig;
  requester: Requester;
  defaults: StoreDefaults;
  concurrency: number;
  /** Told of every backend read (not cache hits), e.g. for a debug count; never given a value. */
  onRead?(store: string, key: string, version: string | undefined): void;
  /** Reads Kubernetes Secrets for the k8s provider and for store credentials; built on first use. */
  kubernetes?: () => Promise<KubernetesSecretReader>;
  /** Audit records of every backend call, naming the Argo CD application they serve. */
  audit?: { auditor: Auditor; subjects: readonly AuditSubject[] };
}

interface Planned {
  token: Token;
  store: string;
  id: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function readId(store: string, ref: Reference): string {
  return JSON.stringify([store, ref.path, ref.version ?? null]);
}

/** Text of a value for a place inside a longer string. */
function asText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      return undefined;
    }
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function bytesOf(value: unknown): Uint8Array {
  return typeof value === "object" && value !== null && !(value instanceof Uint8Array)
    ? toBytes(JSON.stringify(value))
    : toBytes(typeof value === "string" || value instanceof Uint8Array ? value : String(value));
}

function deleteAt(root: unknown, path: (string | number)[]): void {
  let node = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  delete node[path[path.length - 1] as string | number];
}

function setAt(root: unknown, path: (string | number)[], value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
}

export class InlineRenderer {
  readonly #options: InlineOptions;
  readonly #clients = new Map<string, ProviderClient>();
  readonly #limit: <T>(job: () => Promise<T>) => Promise<T>;

  constructor(options: InlineOptions) {
    this.#options = options;
    this.#limit = limiter(options.concurrency);
  }

  #client(store: string): ProviderClient {
    let client = this.#clients.get(store);
    if (!client) {
      client = storeClient(this.#options.config, store, this.#options.kubernetes, this.#options.audit);
      this.#clients.set(store, client);
    }
    return client;
  }

  /** Checks a reference's store and the policy; the problem, or undefined when it may be read. */
  #check(ref: Reference, store: string, namespace: string): string | undefined {
    const spec = this.#options.config.stores[store];
    if (!spec) return `store "${store}" is not configured for inline mode`;
    let provider: string;
    try {
      provider = providerForSpec(spec.provider).factory.name;
    } catch (err) {
      return `store "${store}": ${(err as Error).message}`;
    }
    if (provider !== ref.provider) return `store "${store}" is a ${provider} store, not ${ref.provider}`;
    return denial(this.#options.config, { ...this.#options.requester, namespace }, store, ref.path);
  }

  /** Resolves and substitutes the references of every document in place; returns the errors. */
  async render(docs: { doc: SourceDocument; occurrences: Occurrence[] }[]): Promise<string[]> {
    const errors: string[] = [];
    const plans = new Map<Occurrence, Planned[]>();
    const reads = new Map<string, { store: string; ref: Reference }>();
    for (const { doc, occurrences } of docs) {
      const meta = (doc.value as { metadata?: { namespace?: string } }).metadata;
      const namespace = meta?.namespace ?? this.#options.requester.namespace;
      for (const o of occurrences) {
        const planned: Planned[] = [];
        for (const token of o.tokens) {
          const store = storeOf(token.ref, this.#options.defaults);
          const problem = this.#check(token.ref, store, namespace);
          if (problem) {
            errors.push(`${formatLocation(o.location)}: ${problem}`);
            continue;
          }
          const id = readId(store, token.ref);
          reads.set(id, { store, ref: token.ref });
          planned.push({ token, store, id });
        }
        plans.set(o, planned);
      }
    }
    if (errors.length) return errors;

    const results = await this.#readAll(reads);
    await Promise.all([...this.#clients.values()].map((c) => c.close()));

    for (const { doc, occurrences } of docs) {
      const used: Reference[] = [];
      const versions: VersionRead[] = [];
      const removeMissing = avpRemoveMissing(annotationsOf(doc.value));
      const kind = (doc.value as { kind?: unknown }).kind;
      if (removeMissing && kind !== "Secret" && kind !== "ConfigMap") {
        const where = formatLocation({ file: doc.file, document: doc.index, object: objectName(doc.value) });
        errors.push(
          `${where}: ${AVP_REMOVE_MISSING_ANNOTATION} can only be used on Secret or ConfigMap resources`,
        );
        continue;
      }
      for (const o of occurrences) {
        const where = formatLocation(o.location);
        const values: unknown[] = [];
        // avp.kubernetes.io/remove-missing: a map entry whose placeholder's key is missing is dropped.
        let remove = false;
        for (const { token, store, id } of plans.get(o) ?? []) {
          const result = results.get(id) as SecretValue | Error;
          const refText = formatReference(token.ref);
          if (result instanceof Error) {
            errors.push(`${where}: ${refText}: ${result.message}`);
            continue;
          }
          try {
            values.push(this.#value(result, token, store));
          } catch (err) {
            if (!(err instanceof RefsyncError || err instanceof ModifierError)) throw err;
            if (
              removeMissing &&
              token.syntax === "avp" &&
              err instanceof MissingKeyError &&
              typeof o.path.at(-1) === "string"
            ) {
              remove = true;
              continue;
            }
            errors.push(`${where}: ${refText}: ${err.message}`);
            continue;
          }
          used.push({ ...token.ref, store });
          versions.push({ store, key: token.ref.path, pinned: token.ref.version, read: result.version });
        }
        if (remove) deleteAt(doc.value, o.path);
        else if (values.length === o.tokens.length) {
          const problem = substitute(doc.value, o, values, doc.quoted?.has(o.location.path ?? "") ?? false);
          if (problem) errors.push(`${where}: ${problem}`);
        }
      }
      if (used.length) annotate(doc.value, formatRefsAnnotation(used, versionsDigest(versions)));
    }
    return errors;
  }

  /**
   * Reads every distinct (store, key, version) once: in one readMany per
   * store where the provider batches (AWS BatchGetSecretValue), else key by
   * key; at most `concurrency` backend calls in flight.
   */
  async #readAll(
    reads: Map<string, { store: string; ref: Reference }>,
  ): Promise<Map<string, SecretValue | Error>> {
    const results = new Map<string, SecretValue | Error>();
    const byStore = new Map<string, [string, Reference][]>();
    for (const [id, { store, ref }] of reads) byStore.set(store, [...(byStore.get(store) ?? []), [id, ref]]);
    await Promise.all(
      [...byStore].map(async ([store, entries]) => {
        const requests = entries.map(([, ref]) => ({ key: ref.path, version: ref.version }));
        for (const r of requests) this.#options.onRead?.(store, r.key, r.version);
        let client: ProviderClient;
        try {
          client = this.#client(store);
        } catch (err) {
          for (const [id] of entries) results.set(id, err as Error);
          return;
        }
        if (client.readMany && requests.length > 1) {
          const many = await this.#limit(() => client.readMany!(requests)).catch((err: unknown) =>
            requests.map(() => err as Error),
          );
          entries.forEach(([id], i) => results.set(id, many[i] ?? new Error("no result")));
          return;
        }
        await Promise.all(
          entries.map(async ([id], i) => {
            try {
              results.set(id, await this.#limit(() => client.read(requests[i]!)));
            } catch (err) {
              results.set(id, err as Error);
            }
          }),
        );
      }),
    );
    return results;
  }

  #value(secret: SecretValue, token: Token, store: string): unknown {
    const request = { store: `store "${store}"`, key: token.ref.path, property: token.ref.fragment };
    let value: unknown;
    try {
      value = selectProperty(secret, request);
    } catch (err) {
      // The secret exists without this key: what AVP calls a missing value.
      if (err instanceof SecretNotFoundError) throw new MissingKeyError(err.message);
      throw err;
    }
    // AVP takes a null value for a missing one.
    if (token.syntax === "avp" && value === null)
      throw new MissingKeyError(
        `store "${store}": key "${token.ref.path}" property "${token.ref.fragment}": property is null`,
      );
    const strategy = decodingStrategy(token.ref);
    if (strategy) value = decode(bytesOf(value), strategy, request);
    return applyModifiers(value, token.modifiers);
  }
}

/**
 * Text of an AVP placeholder's value, as AVP's stringify makes it: strings
 * as they are, numbers and booleans as text; a map or a list is no text.
 */
function avpText(value: unknown): string {
  if (value instanceof Uint8Array) {
    const text = asText(value);
    if (text === undefined) throw new PlacementError("a binary value cannot be inserted as text");
    return text;
  }
  if (typeof value === "object" || value === undefined)
    throw new PlacementError(
      `the value is ${Array.isArray(value) ? "a list" : "a map"}, which has no text form here`,
    );
  return String(value);
}

/** Text of one token's value inside a string. */
function tokenText(token: Token, value: unknown): string {
  if (token.syntax === "avp") return avpText(value);
  const text = asText(value);
  if (text === undefined) throw new PlacementError("a binary value cannot be embedded in text");
  return text;
}

/** The occurrence's text with each reference replaced by its value's text. */
function joined(o: Occurrence, values: unknown[]): string {
  let out = "";
  let at = 0;
  for (const [i, t] of o.tokens.entries()) {
    out += o.text.slice(at, t.start) + tokenText(t, values[i]);
    at = t.end;
  }
  return out + o.text.slice(at);
}

/**
 * Puts the values into the document; a problem when a value cannot go
 * where its reference is. A Secret's `data` follows secret-data.ts;
 * `stringData` and a ConfigMap take text (the API server refuses anything
 * else); elsewhere a whole-value AVP placeholder, or an unquoted `ref+`
 * reference, keeps the value's type.
 */
function substitute(root: unknown, o: Occurrence, values: unknown[], quoted: boolean): string | undefined {
  const field = isSecret(root) && o.path.length === 2 ? o.path[0] : undefined;
  const first = o.tokens[0] as Token;
  const whole = o.tokens.length === 1 && first.start === 0 && first.end === o.text.length;
  try {
    if (field === "data") {
      if (dataForm(first.syntax, o.base64) === "as-is") {
        const text = whole ? avpText(values[0]) : joined(o, values);
        if (!isStdBase64(text)) {
          return "the value is not base64 once the placeholders are replaced: in a Secret's data, AVP inserts values as they are (write <key | base64encode>)";
        }
        setAt(root, o.path, text);
      } else {
        const bytes = whole && first.syntax === "ref" ? bytesOf(values[0]) : toBytes(joined(o, values));
        setAt(root, o.path, Buffer.from(bytes).toString("base64"));
      }
    } else if (field === "stringData") {
      const bytes = whole
        ? first.syntax === "avp"
          ? toBytes(avpText(values[0]))
          : bytesOf(values[0])
        : toBytes(joined(o, values));
      const text = asText(bytes);
      if (text !== undefined) setAt(root, o.path, text);
      else {
        // Binary in stringData: Kubernetes only takes it base64-encoded in data.
        const s = root as { data?: Record<string, string>; stringData: Record<string, unknown> };
        delete s.stringData[o.path[1] as string];
        s.data = { ...s.data, [o.path[1] as string]: Buffer.from(bytes).toString("base64") };
      }
    } else if (whole && (root as { kind?: unknown }).kind === "ConfigMap") {
      setAt(root, o.path, tokenText(first, values[0]));
    } else if (whole && (first.syntax === "avp" || !quoted)) {
      const value = values[0];
      setAt(root, o.path, value instanceof Uint8Array ? tokenText(first, value) : value);
    } else {
      setAt(root, o.path, joined(o, values));
    }
  } catch (err) {
    if (err instanceof PlacementError) return err.message;
    throw err;
  }
  return undefined;
}

function annotate(root: unknown, value: string): void {
  const obj = root as { metadata?: { annotations?: Record<string, string> } };
  obj.metadata ??= {};
  obj.metadata.annotations = { ...obj.metadata.annotations, [ANNOTATION_REFS]: value };
}
