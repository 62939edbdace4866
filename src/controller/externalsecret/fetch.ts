/**
 * Gathers the data an ExternalSecret asks for: `dataFrom` entries in order,
 * then `data` entries (which win on equal keys, as in ESO). All reads of one
 * round go out together, so a store with readMany pays one call for many
 * keys, and any failed read fails the whole round: a Secret is never written
 * with part of its data.
 */
import type { ExternalSecretSpec, RemoteRef } from "../../api/v1alpha1.ts";
import { InvalidSpecError } from "../../errors.ts";
import { extractMap, extractValue } from "../../providers/extract.ts";
import type { Lease, ReadRequest, SecretValue } from "../../providers/types.ts";
import type { AuditSubject } from "../../store/audit.ts";
import type { StoreSession } from "../secretstore/sessions.ts";

export interface FetchResult {
  data: Record<string, Uint8Array>;
  leases: Lease[];
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function requestKey(r: ReadRequest): string {
  return JSON.stringify([r.key, r.version ?? null]);
}

function applyRewrites(
  map: Record<string, Uint8Array>,
  rewrites: NonNullable<ExternalSecretSpec["dataFrom"]>[number]["rewrite"],
  field: string,
): Record<string, Uint8Array> {
  let out = map;
  for (const rw of rewrites ?? []) {
    const re = new RegExp(rw.regexp.source, "g");
    const next: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(out)) next[k.replace(re, rw.regexp.target)] = v;
    out = next;
  }
  for (const k of Object.keys(out)) {
    if (!SECRET_KEY.test(k)) {
      throw new InvalidSpecError(
        `${field}: key "${k}" is not a valid Secret key (add a rewrite, e.g. "/" → "_")`,
      );
    }
  }
  return out;
}

export async function fetchData(
  spec: ExternalSecretSpec,
  session: StoreSession,
  /** Cached values are taken only when read at or after this time. */
  readsSinceMs: number,
  signal?: AbortSignal,
  /** The ExternalSecret the reads serve, for the audit records. */
  subject?: AuditSubject,
): Promise<FetchResult> {
  const dataFrom = spec.dataFrom ?? [];
  // Lists first (find), since they decide which keys to read.
  const found = await Promise.all(
    dataFrom.map((d) =>
      d.find
        ? session.list({ name: d.find.name, tags: d.find.tags, path: d.find.path }, signal, subject)
        : Promise.resolve([]),
    ),
  );
  const requests = new Map<string, ReadRequest>();
  const want = (r: ReadRequest) => requests.set(requestKey(r), { key: r.key, version: r.version });
  for (const d of spec.data ?? []) want(d.remoteRef);
  dataFrom.forEach((d, i) => {
    if (d.extract) want(d.extract);
    for (const key of found[i] ?? []) want({ key });
  });
  const list = [...requests.values()];
  const values = await session.readAll(list, readsSinceMs, signal, subject);
  const byRequest = new Map<string, SecretValue>();
  list.forEach((r, i) => {
    const v = values[i];
    if (v instanceof Error) throw v;
    byRequest.set(requestKey(r), v as SecretValue);
  });
  const get = (r: ReadRequest) => byRequest.get(requestKey(r)) as SecretValue;
  const extractReq = (ref: RemoteRef) => ({
    store: session.id,
    key: ref.key,
    property: ref.property,
    decodingStrategy: ref.decodingStrategy,
  });

  let data: Record<string, Uint8Array> = {};
  dataFrom.forEach((d, i) => {
    const field = `spec.dataFrom[${i}]`;
    let map: Record<string, Uint8Array> = {};
    if (d.extract) map = extractMap(get(d.extract), extractReq(d.extract));
    for (const key of found[i] ?? []) {
      map[key] = extractValue(get({ key }), {
        store: session.id,
        key,
        decodingStrategy: d.find?.decodingStrategy,
      });
    }
    data = { ...data, ...applyRewrites(map, d.rewrite, field) };
  });
  for (const d of spec.data ?? [])
    data[d.secretKey] = extractValue(get(d.remoteRef), extractReq(d.remoteRef));

  const leases = new Map<string, Lease>();
  for (const v of byRequest.values()) if (v.lease) leases.set(v.lease.id, v.lease);
  return { data, leases: [...leases.values()] };
}
