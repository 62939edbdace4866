/**
 * The plugin's pipeline: read sources → find references → deferred
 * (ExternalSecrets) or inline (values) → one deterministic YAML stream.
 * Either every document renders, or the result is the full list of errors
 * (each naming file, document, Kind/name and YAML path, never a value);
 * every refsync.dev object in the output is checked strictly (./objects.ts).
 */
import { ANNOTATION_SOURCE_REVISION } from "../api/v1alpha1.ts";
import { mountConflicts } from "../refs/avp.ts";
import { findInDocument, isSecret, type Occurrence, type SourceDocument } from "../refs/find.ts";
import type { KubernetesSecretReader } from "../providers/types.ts";
import type { Mode, PluginConfig, Requester } from "./config.ts";
import { notInSecret, storeOf, toExternalSecret, type StoreDefaults } from "./deferred.ts";
import { InlineRenderer, type InlineOptions } from "./inline.ts";
import { checkObjects, convertEsoDocument } from "./objects.ts";
import { stringifyStream } from "./output.ts";
import { readSources } from "./sources.ts";

export interface RenderOptions {
  /** A directory, a file, or `-` for stdin. */
  input: string;
  mode: Mode;
  config: PluginConfig;
  requester: Requester;
  /** Store for references that name none (ARGOCD_ENV_REFSYNC_STORE). */
  store?: string;
  /** Helm release name for a chart directory (ARGOCD_APP_NAME). */
  release?: string;
  /** Stamped as refsync.dev/source-revision (ARGOCD_APP_REVISION). */
  revision?: string;
  /** Reads in flight at once in inline mode. */
  concurrency?: number;
  stdin?: () => Promise<string>;
  kubernetes?: () => Promise<KubernetesSecretReader>;
  /** Audit records of inline mode's backend calls (REFSYNC_AUDIT_LOG). */
  audit?: InlineOptions["audit"];
}

export type RenderResult =
  /** notes: what the render left out on purpose (ESO fields ESO itself ignores), for stderr. */
  { ok: true; output: string; documents: number; notes: string[] } | { ok: false; errors: string[] };

function stamp(value: unknown, revision: string): void {
  const obj = value as { metadata?: { annotations?: Record<string, string> } };
  obj.metadata ??= {};
  obj.metadata.annotations = { ...obj.metadata.annotations, [ANNOTATION_SOURCE_REVISION]: revision };
}

export async function render(options: RenderOptions): Promise<RenderResult> {
  const sources = await readSources(options.input, {
    trackQuotes: options.mode === "inline",
    ...(options.stdin ? { stdin: options.stdin } : {}),
    release: { name: options.release, namespace: options.requester.namespace },
  });
  const errors = [...sources.errors];
  if (!sources.documents.length && !errors.length) {
    // An empty render would make Argo CD prune the whole application.
    errors.push(
      `${options.input === "-" ? "stdin" : options.input}: no manifests found (empty input is an error)`,
    );
  }
  const { config } = options;
  const defaults: StoreDefaults = { override: options.store, byProvider: config.defaultStores };

  const found: { doc: SourceDocument; occurrences: Occurrence[] }[] = [];
  const mountsByStore = new Map<string, Set<string>>();
  for (const doc of sources.documents) {
    const result = findInDocument(doc, config.avp ? { avp: config.avp } : {});
    errors.push(...result.errors.map((e) => e.message));
    if (result.occurrences.length) found.push({ doc, occurrences: result.occurrences });
    for (const t of result.occurrences.flatMap((o) => o.tokens)) {
      if (t.mount === undefined) continue;
      const store = storeOf(t.ref, defaults);
      mountsByStore.set(store, (mountsByStore.get(store) ?? new Set()).add(t.mount));
    }
  }
  errors.push(...mountConflicts(mountsByStore));

  const output = sources.documents.map((d) => d.value);
  const position = new Map(sources.documents.map((d, i) => [d, i]));
  if (options.mode === "deferred") {
    for (const { doc, occurrences } of found) {
      if (!isSecret(doc.value)) {
        errors.push(...occurrences.map(notInSecret));
        continue;
      }
      const converted = toExternalSecret(doc, occurrences, defaults);
      errors.push(...converted.errors);
      if (converted.value) output[position.get(doc) as number] = converted.value;
    }
  }
  // ESO objects become refsync's kinds in either mode (the controller never reads
  // external-secrets.io), or the render fails naming each field refsync does not implement.
  const notes: string[] = [];
  sources.documents.forEach((doc, i) => {
    const converted = convertEsoDocument(doc);
    if (converted.value) output[i] = converted.value;
    errors.push(...converted.errors);
    notes.push(...converted.notes);
  });
  // Every refsync.dev object emitted, generated or passed through, is strict: the API server would
  // prune a typo silently. Inline mode checks them before resolving anything (references are strings).
  const emitted = sources.documents.map((d, i) => ({ file: d.file, index: d.index, value: output[i] }));
  errors.push(...checkObjects(emitted).errors);
  if (options.mode === "inline" && !errors.length) {
    const inline = new InlineRenderer({
      config,
      requester: options.requester,
      defaults,
      concurrency: options.concurrency ?? 8,
      kubernetes: options.kubernetes,
      ...(options.audit && { audit: options.audit }),
    });
    errors.push(...(await inline.render(found)));
  }
  if (errors.length) return { ok: false, errors };
  if (options.revision) for (const value of output) stamp(value, options.revision);
  return { ok: true, output: stringifyStream(output), documents: output.length, notes };
}
