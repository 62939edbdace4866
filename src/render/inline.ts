/**
 * Inline mode: resolve references now and substitute their values into any
 * manifest, as argocd-vault-plugin does — under the operator's policy. Every
 * distinct (store, key, version) is read once per run (batched with
 * readMany where the provider can), at most `concurrency` reads at a time. A
 * whole-value reference keeps the backend's type (number, boolean, object);
 * Secret `data` values are base64-encoded, and binary values put in
 * `stringData` move to `data`. Objects that received values get the
 * `refsync.dev/refs` annotation (references and a version digest, no value).
 */
import { providerForSpec } from "../providers/registry.ts";
import { decode, selectProperty, toBytes } from "../providers/extract.ts";
import type { KubernetesSecretReader, ProviderClient, SecretValue } from "../providers/types.ts";
import { RefsyncError } from "../errors.ts";
import { applyModifiers, ModifierError } from "../refs/modifiers.ts";
import { formatLocation } from "../refs/errors.ts";
import { isSecret, type Occurrence, type SourceDocument, type Token } from "../refs/find.ts";
import { decodingStrategy, formatReference, type Reference } from "../refs/reference.ts";
import { ANNOTATION_REFS, formatRefsAnnotation, versionsDigest, type VersionRead } from "./annotation.ts";
import { denial, type PluginConfig, type Requester } from "./config.ts";
import { storeOf, type StoreDefaults } from "./deferred.ts";
import { limiter } from "./limit.ts";
import { storeClient } from "./store-client.ts";

export interface InlineOptions {
  config: PluginConfig;
  requester: Requester;
  defaults: StoreDefaults;
  concurrency: number;
  /** Told of every backend read (not cache hits), e.g. for a debug count; never given a value. */
  onRead?(store: string, key: string, version: string | undefined): void;
  /** Reads Kubernetes Secrets for the k8s provider and for store credentials; built on first use. */
  kubernetes?: () => Promise<KubernetesSecretReader>;
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
      client = storeClient(this.#options.config, store, this.#options.kubernetes);
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
      for (const o of occurrences) {
        const where = formatLocation(o.location);
        const values: unknown[] = [];
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
            errors.push(`${where}: ${refText}: ${err.message}`);
            continue;
          }
          used.push({ ...token.ref, store });
          versions.push({ store, key: token.ref.path, pinned: token.ref.version, read: result.version });
        }
        if (values.length === o.tokens.length) {
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
    let value = selectProperty(secret, request);
    const strategy = decodingStrategy(token.ref);
    if (strategy) value = decode(bytesOf(value), strategy, request);
    return applyModifiers(value, token.modifiers);
  }
}

/** The KubernetesSecretReader is built (and its client library loaded) only when a store needs it. */
/** Puts the values into the document; a problem when a value cannot go where its reference was. */
function substitute(root: unknown, o: Occurrence, values: unknown[], quoted: boolean): string | undefined {
  const secret = isSecret(root);
  const field = secret && o.path.length === 2 ? o.path[0] : undefined;
  const whole = o.tokens.length === 1 && o.tokens[0]?.start === 0 && o.tokens[0].end === o.text.length;
  if (field === "data" || field === "stringData") {
    const bytes = whole ? bytesOf(values[0]) : joined(o, values);
    if (bytes === undefined) return "a binary value cannot be embedded in text";
    const key = o.path[1] as string;
    if (field === "stringData") {
      const text = asText(bytes);
      if (text !== undefined) {
        setAt(root, o.path, text);
        return undefined;
      }
      // Binary in stringData: Kubernetes only takes it base64-encoded in data.
      const s = root as { data?: Record<string, string>; stringData: Record<string, unknown> };
      delete s.stringData[key];
      s.data = { ...s.data, [key]: Buffer.from(bytes).toString("base64") };
      return undefined;
    }
    setAt(root, o.path, Buffer.from(bytes).toString("base64"));
    return undefined;
  }
  if (whole && !quoted) {
    const value = values[0];
    if (value instanceof Uint8Array) {
      const text = asText(value);
      if (text === undefined) return "a binary value can only go into a Secret's data";
      setAt(root, o.path, text);
    } else setAt(root, o.path, value);
    return undefined;
  }
  const bytes = joined(o, values);
  if (bytes === undefined) return "a binary value cannot be embedded in text";
  setAt(root, o.path, Buffer.from(bytes).toString("utf8"));
  return undefined;
}

/** The occurrence's text with each reference replaced by its value's text; undefined for binary values. */
function joined(o: Occurrence, values: unknown[]): Uint8Array | undefined {
  let out = "";
  let at = 0;
  for (const [i, t] of o.tokens.entries()) {
    const text = asText(values[i]);
    if (text === undefined) return undefined;
    out += o.text.slice(at, t.start) + text;
    at = t.end;
  }
  out += o.text.slice(at);
  return toBytes(out);
}

function annotate(root: unknown, value: string): void {
  const obj = root as { metadata?: { annotations?: Record<string, string> } };
  obj.metadata ??= {};
  obj.metadata.annotations = { ...obj.metadata.annotations, [ANNOTATION_REFS]: value };
}
