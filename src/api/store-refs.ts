/**
 * Which store each entry of an ExternalSecret reads from, as ESO's client
 * manager picks it: an entry's own `sourceRef.storeRef` when set, else
 * `spec.secretStoreRef`. Pure data: the controller resolves these
 * references (src/controller/externalsecret/sources.ts), validation checks
 * that every entry has one.
 */
import type { ExternalSecretSpec } from "./v1alpha1.ts";

/** A store reference with its kind written out (ESO's default kind is SecretStore). */
export interface StoreRef {
  kind: "SecretStore" | "ClusterSecretStore";
  name: string;
}

type Ref = NonNullable<ExternalSecretSpec["secretStoreRef"]>;

/** One entry of `data` or `dataFrom`: its own store, if it names one. */
export interface StoreEntry {
  sourceRef?: { storeRef?: Ref | undefined; generatorRef?: unknown } | undefined;
}

const withKind = (ref: Ref): StoreRef => ({ kind: ref.kind ?? "SecretStore", name: ref.name });

/** `SecretStore/name` or `ClusterSecretStore/name`: one key per store an object of one namespace may name. */
export function storeRefKey(ref: StoreRef): string {
  return `${ref.kind}/${ref.name}`;
}

/** The store an entry reads from: its `sourceRef.storeRef`, else `spec.secretStoreRef`; undefined for none. */
export function entryStoreRef(
  spec: Pick<ExternalSecretSpec, "secretStoreRef">,
  entry: StoreEntry,
): StoreRef | undefined {
  // A generator entry reads no store (src/api/generators.ts).
  if (entry.sourceRef?.generatorRef !== undefined) return undefined;
  const ref = entry.sourceRef?.storeRef ?? spec.secretStoreRef;
  return ref && withKind(ref);
}

/** Every entry of `dataFrom` then `data` (ESO's order of reads), with its field path. */
function entries(spec: ExternalSecretSpec): [string, StoreEntry][] {
  return [
    ...(spec.dataFrom ?? []).map((d, i): [string, StoreEntry] => [`dataFrom[${i}]`, d]),
    ...(spec.data ?? []).map((d, i): [string, StoreEntry] => [`data[${i}]`, d]),
  ];
}

/** One store the spec reads from, and the field that first names it (`secretStoreRef`, `data[1].sourceRef.storeRef`). */
export interface StoreUse {
  ref: StoreRef;
  field: string;
}

/**
 * The distinct stores the entries read from, in the order of their first
 * use (dataFrom, then data). A spec without entries (templates only) uses
 * `spec.secretStoreRef`, when set. A `spec.secretStoreRef` no entry uses is
 * not read, as in ESO.
 */
export function storesRead(spec: ExternalSecretSpec): StoreUse[] {
  const list = entries(spec);
  if (list.length === 0)
    return spec.secretStoreRef ? [{ ref: withKind(spec.secretStoreRef), field: "secretStoreRef" }] : [];
  const uses = new Map<string, StoreUse>();
  for (const [at, entry] of list) {
    const ref = entryStoreRef(spec, entry);
    if (!ref || uses.has(storeRefKey(ref))) continue;
    const field = entry.sourceRef?.storeRef ? `${at}.sourceRef.storeRef` : "secretStoreRef";
    uses.set(storeRefKey(ref), { ref, field });
  }
  return [...uses.values()];
}

/**
 * Every store the spec names, `spec.secretStoreRef` included even when no
 * entry uses it: ESO leaves an ExternalSecret naming any store of another
 * controller class to that controller.
 */
export function storesNamed(
  spec: Pick<ExternalSecretSpec, "secretStoreRef" | "data" | "dataFrom">,
): StoreRef[] {
  const refs = [
    spec.secretStoreRef,
    ...[...(spec.dataFrom ?? []), ...(spec.data ?? [])].map((e) => e.sourceRef?.storeRef),
  ];
  const named = new Map<string, StoreRef>();
  for (const ref of refs) if (ref) named.set(storeRefKey(withKind(ref)), withKind(ref));
  return [...named.values()];
}

/** The field paths (`data[1]`) of entries that read from no store: neither their own nor spec.secretStoreRef. */
export function storelessEntries(spec: ExternalSecretSpec): string[] {
  return entries(spec)
    .filter(([, e]) => e.sourceRef?.generatorRef === undefined && entryStoreRef(spec, e) === undefined)
    .map(([at]) => at);
}
