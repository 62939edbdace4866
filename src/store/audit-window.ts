/**
 * The latest audit records in memory (a bounded ring), for `/api/v1/audit`
 * and the dashboard's "who read what": filtered by namespace, ExternalSecret,
 * store, key, outcome and time. Newest first. The file or stream stays the
 * record of truth; this window forgets the oldest when full.
 */
import type { AuditOutcome, AuditRecord } from "./audit.ts";

export interface AuditFilter {
  namespace?: string;
  /** An ExternalSecret's name (with `namespace`, exactly that one) or an Argo CD application's. */
  name?: string;
  store?: string;
  key?: string;
  outcome?: AuditOutcome;
  /** ISO times, inclusive. */
  since?: string;
  until?: string;
  /** At most this many records (default: all that match). */
  limit?: number;
}

export class AuditWindow {
  readonly #capacity: number;
  readonly #records: AuditRecord[] = [];
  #next = 0;

  constructor(capacity = 1000) {
    this.#capacity = Math.max(1, capacity);
  }

  add(record: AuditRecord): void {
    if (this.#records.length < this.#capacity) this.#records.push(record);
    else this.#records[this.#next] = record;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Matching records, newest first. */
  query(filter: AuditFilter = {}): AuditRecord[] {
    const out: AuditRecord[] = [];
    const n = this.#records.length;
    for (let i = 1; i <= n && out.length < (filter.limit ?? Infinity); i++) {
      const record = this.#records[(this.#next - i + n) % n] as AuditRecord;
      if (matches(record, filter)) out.push(record);
    }
    return out;
  }
}

function matches(r: AuditRecord, f: AuditFilter): boolean {
  if (f.store !== undefined && r.store !== f.store) return false;
  if (f.outcome !== undefined && r.outcome !== f.outcome) return false;
  if (f.since !== undefined && r.time < f.since) return false;
  if (f.until !== undefined && r.time > f.until) return false;
  if (f.key !== undefined && !(r.keys ?? []).some((k) => k.key === f.key)) return false;
  if (f.namespace === undefined && f.name === undefined) return true;
  return r.subjects.some(
    (s) =>
      (f.namespace === undefined || (s.kind === "ExternalSecret" && s.namespace === f.namespace)) &&
      (f.name === undefined || s.name === f.name),
  );
}
