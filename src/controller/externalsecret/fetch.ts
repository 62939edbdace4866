/**
 * Gathers the data an ExternalSecret asks for: `dataFrom` entries in order,
 * then `data` entries (which win on equal keys, as in ESO), each from its
 * own store (sources.ts). All reads of one round go out together, those of
 * each store as one batch, so a store with readMany pays one call for many
 * keys, and any failed read fails the whole round: a Secret is never written
 * with part of its data.
 */
import type { ExternalSecretSpec, RemoteRef } from "../../api/v1alpha1.ts";
import { InvalidSpecError } from "../../errors.ts";
import { extractMap, extractValue } from "../../providers/extract.ts";
import { readRequestId, type ReadRequest, type SecretValue } from "../../providers/types.ts";
import type { AuditSubject } from "../../store/audit.ts";
import type { StoreSession } from "../secretstore/sessions.ts";
import type { LeaseSource } from "./leases.ts";
import type { Sources } from "./sources.ts";
import type { GeneratorRef } from "./generators.ts";
import { checkNullBytes, convertKeys, finishKeys } from "./rewrite.ts";

export interface FetchResult {
  data: Record<string, Uint8Array>;
  leases: LeaseSource[];
}

/**
 * Providers whose find converts the keys it returns in ESO (their GetAllSecrets calls ConvertKeys),
 * so that a rewrite sees converted keys; the others convert only when there is no rewrite.
 */
const FIND_CONVERTS_KEYS: ReadonlySet<string> = new Set(["fake", "k8s", "gcpsm"]);

/** The read a remote reference makes: its value, or its metadata (metadataPolicy Fetch). */
export function readRequestOf(ref: RemoteRef): ReadRequest {
  return {
    key: ref.key,
    ...(ref.version !== undefined && { version: ref.version }),
    ...(ref.metadataPolicy === "Fetch" && { metadata: true }),
  };
}

/**
 * How fresh reads must be: one time for all, or per request and store (the session's id, as
 * storeId names it): a changed key read afresh from the store it changed in, the others from the cache.
 */
export type ReadsSince = number | ((request: ReadRequest, store: string) => number);

/** New values from a dataFrom entry's generator (src/controller/externalsecret/generators.ts); `field` names the reference. */
export type Generate = (ref: GeneratorRef, field: string) => Promise<Record<string, Uint8Array>>;

const NO_GENERATORS: Generate = (_ref, field) =>
  Promise.reject(new InvalidSpecError(`${field}: generators are not available here`));

export async function fetchData(
  spec: ExternalSecretSpec,
  sources: Sources,
  /** Cached values are taken only when read at or after this time. */
  readsSinceMs: ReadsSince,
  signal?: AbortSignal,
  /** The ExternalSecret the reads serve, for the audit records. */
  subject?: AuditSubject,
  /** Runs the generators dataFrom entries name, after every read succeeded (nothing generated for a failed sync). */
  generate: Generate = NO_GENERATORS,
): Promise<FetchResult> {
  const dataFrom = spec.dataFrom ?? [];
  // Lists first (find), since they decide which keys to read.
  const found = await Promise.all(
    dataFrom.map((d) =>
      d.find
        ? sources.of(d).list({ name: d.find.name, tags: d.find.tags, path: d.find.path }, signal, subject)
        : Promise.resolve([]),
    ),
  );
  // The distinct reads of each store (an entry reads from its own store, or spec.secretStoreRef's).
  const requests = new Map<StoreSession, Map<string, ReadRequest>>();
  const want = (session: StoreSession, r: ReadRequest) => {
    let reads = requests.get(session);
    if (!reads) requests.set(session, (reads = new Map()));
    reads.set(readRequestId(r), r);
  };
  for (const d of spec.data ?? []) want(sources.of(d), readRequestOf(d.remoteRef));
  dataFrom.forEach((d, i) => {
    if (d.extract) want(sources.of(d), readRequestOf(d.extract));
    for (const key of found[i] ?? []) want(sources.of(d), { key });
  });
  const byRequest = new Map<StoreSession, Map<string, SecretValue>>();
  await Promise.all(
    [...requests].map(async ([session, reads]) => {
      const list = [...reads.values()];
      const since =
        typeof readsSinceMs === "number" ? readsSinceMs : list.map((r) => readsSinceMs(r, session.id));
      const values = await session.readAll(list, since, signal, subject);
      const got = new Map<string, SecretValue>();
      list.forEach((r, i) => {
        const v = values[i];
        if (v instanceof Error) throw v;
        got.set(readRequestId(r), v as SecretValue);
      });
      byRequest.set(session, got);
    }),
  );
  const get = (session: StoreSession, r: ReadRequest) =>
    byRequest.get(session)?.get(readRequestId(r)) as SecretValue;
  const extractReq = (session: StoreSession, ref: RemoteRef) => ({
    store: session.id,
    key: ref.key,
    property: ref.property,
    decodingStrategy: ref.decodingStrategy,
  });

  // Generated values never go through a store session, so never through its read cache.
  const generated: (Record<string, Uint8Array> | undefined)[] = [];
  for (const [i, d] of dataFrom.entries()) {
    const ref = d.sourceRef?.generatorRef;
    if (ref) generated[i] = await generate(ref, `spec.dataFrom[${i}].sourceRef.generatorRef`);
  }

  let data: Record<string, Uint8Array> = {};
  dataFrom.forEach((d, i) => {
    const field = `spec.dataFrom[${i}]`;
    const made = generated[i];
    if (made) {
      // As ESO: the entry's rewrites, no key conversion, then the key check.
      data = { ...data, ...finishKeys(made, d, undefined, field) };
      return;
    }
    const session = sources.of(d);
    let map: Record<string, Uint8Array> = {};
    if (d.extract) map = extractMap(get(session, readRequestOf(d.extract)), extractReq(session, d.extract));
    for (const key of found[i] ?? []) {
      map[key] = extractValue(get(session, { key }), {
        store: session.id,
        key,
        decodingStrategy: d.find?.decodingStrategy,
      });
    }
    const source = d.extract ?? d.find;
    if (d.find?.conversionStrategy && FIND_CONVERTS_KEYS.has(session.client.provider))
      map = convertKeys(map, d.find.conversionStrategy, `${field}.find`);
    map = finishKeys(map, d, source?.conversionStrategy, field);
    checkNullBytes(map, source?.nullBytePolicy, `${field}.${d.extract ? "extract" : "find"}`);
    data = { ...data, ...map };
  });
  (spec.data ?? []).forEach((d, i) => {
    const session = sources.of(d);
    const value = extractValue(get(session, readRequestOf(d.remoteRef)), extractReq(session, d.remoteRef));
    checkNullBytes({ [d.secretKey]: value }, d.remoteRef.nullBytePolicy, `spec.data[${i}].remoteRef`);
    data[d.secretKey] = value;
  });

  // Each lease with the session of the store it came from, which renews and revokes it.
  const leases = new Map<string, LeaseSource>();
  for (const [session, values] of byRequest)
    for (const v of values.values()) if (v.lease) leases.set(v.lease.id, { lease: v.lease, session });
  return { data, leases: [...leases.values()] };
}
