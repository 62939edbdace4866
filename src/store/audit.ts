/**
 * The audit stream: one JSON line per backend operation (login, read, find,
 * write, lease renew/revoke) the controller or the plugin makes, separate
 * from the log. Each line is hash-chained to the one before it: it carries
 * `prev`, the previous record's `hash`, and its own `hash`, the SHA-256 of
 * the line as written without `hash`. A new file starts from GENESIS unless
 * it continues one (the writer reopens an existing file at its last hash, and
 * a rotated-to file starts from the rotated-away file's last hash), so an
 * edited, deleted or reordered line breaks the chain where it happened and
 * `refsync audit verify` names that line.
 *
 * A record never holds a secret value nor anything derived from one: it is
 * built only from names, keys, versions, outcomes and the backend's request
 * id, and `AuditRecord` has no field a value could go in.
 */
import type { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, fstatSync } from "node:fs";
import { onFirstUse } from "../api/on-first-use.ts";
import { AuditSinkError } from "../errors.ts";
import { callResultOf } from "../providers/call-result.ts";
import type { AuditKey, CallDetail, CallResult, ProviderClient, ReadRequest } from "../providers/types.ts";
import { auditRecordSchema } from "./audit-schema.ts";
import {
  LineSink,
  parseAuditTarget,
  type AuditTarget,
  type LineStream,
  type SinkOptions,
} from "./audit-sink.ts";

export type { AuditKey, CallDetail };

export const GENESIS = "0".repeat(64);

/** Whom a backend operation served. */
export type AuditSubject =
  | { kind: "ExternalSecret"; namespace: string; name: string; uid?: string }
  | { kind: "Application"; name: string; project?: string; revision?: string; path?: string }
  /** `refsync migrate`: the work tree whose values it writes to the store, and the branch. */
  | { kind: "Repository"; name: string; branch?: string };

export type AuditOutcome = "ok" | "not_found" | "denied" | "throttled" | "error";

export interface AuditRecord {
  time: string;
  actor: { component: "controller" | "plugin" | "cli"; version: string; replica?: string };
  subjects: AuditSubject[];
  store: string;
  provider: string;
  identity?: Record<string, string>;
  operation: string;
  keys?: AuditKey[];
  outcome: AuditOutcome;
  /** The typed error's reason (NotFound, AccessDenied, Throttled…), never its message. */
  reason?: string;
  requestId?: string;
  durationMs: number;
}

export interface ChainedRecord extends AuditRecord {
  prev: string;
  hash: string;
}

export function outcomeOf(result: CallResult): AuditOutcome {
  return result === "success" ? "ok" : result;
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** The line for `record` chained after `prev`, and its hash. */
export function chainLine(record: AuditRecord, prev: string): { line: string; hash: string } {
  const body = JSON.stringify({ ...record, prev });
  const hash = sha256(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, hash };
}

/** Somewhere audit records go. */
export interface AuditSink {
  write(record: AuditRecord): void;
  /** What keeps records from being written, while it lasts (undefined: they are written). */
  readonly failure?: Error | undefined;
  /** Tries to write what is pending: true when the sink is writing again. */
  recover?(): boolean;
  close?(): void;
}

/** Drops everything (no --audit-log). */
export const noAudit: AuditSink = { write: () => {} };

/**
 * Appends chained records to a file (rotated by size; reopening an existing
 * file, or the newest rotated one, continues its chain), stdout, stderr or a
 * stream. A record that cannot be written is kept, in order, and written
 * when the sink recovers (see LineSink).
 */
export class AuditWriter implements AuditSink {
  #prev: string;
  readonly #sink: LineSink;

  constructor(target: string | AuditTarget | LineStream, options: SinkOptions & { prev?: string } = {}) {
    const parsed: AuditTarget =
      typeof target === "string"
        ? parseAuditTarget(target, "stdout")
        : "kind" in target
          ? target
          : { kind: "stdout" };
    const continued =
      parsed.kind === "file" ? (lastHash(parsed.path) ?? lastHash(`${parsed.path}.1`)) : undefined;
    this.#prev = options.prev ?? continued ?? GENESIS;
    this.#sink = new LineSink(
      parsed,
      options,
      typeof target === "object" && !("kind" in target) ? target : undefined,
    );
  }

  /** The hash the next record chains to (for a rotated-to file's first record). */
  get lastHash(): string {
    return this.#prev;
  }

  get failure(): Error | undefined {
    return this.#sink.failure;
  }

  recover(): boolean {
    return this.#sink.recover();
  }

  write(record: AuditRecord): void {
    const { line, hash } = chainLine(record, this.#prev);
    this.#prev = hash;
    this.#sink.write(line);
  }

  close(): void {
    this.#sink.close();
  }
}

/** The hash of a file's last whole record, or undefined when it has none (or cannot be read). */
export function lastHash(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const lines = buf.toString("utf8").split("\n").filter(Boolean);
    for (const line of lines.reverse()) {
      try {
        const parsed = JSON.parse(line) as { hash?: unknown };
        if (typeof parsed.hash === "string") return parsed.hash;
      } catch {
        // a line cut short by a crash: the one before it is the last whole record
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export type VerifyResult =
  | { ok: true; records: number; lastHash: string }
  | { ok: false; file: string; line: number; problem: string };

/**
 * Checks the chain across `files` in order (oldest first). The first record of
 * the first file may continue an earlier, unnamed file (its `prev` is taken as
 * given); every later `prev` must be the hash before it, and every `hash` the
 * hash of its own line.
 */
export function verifyAudit(files: readonly string[]): VerifyResult {
  let prev: string | undefined;
  let records = 0;
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    for (let i = 0; i < lines.length; i++) {
      const bad = (problem: string): VerifyResult => ({ ok: false, file, line: i + 1, problem });
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(lines[i] as string) as Record<string, unknown>;
      } catch {
        return bad("not a JSON record");
      }
      const { hash, ...rest } = parsed;
      if (typeof hash !== "string" || typeof rest.prev !== "string") return bad("no prev or hash");
      if (sha256(JSON.stringify(rest)) !== hash) return bad("the record was changed (hash mismatch)");
      const shape = auditRecordSchema().safeParse(parsed);
      if (!shape.success) {
        const issue = shape.error.issues[0];
        return bad(
          `not an audit record (${issue?.path.join(".") || "record"}: ${issue?.message ?? "invalid"})`,
        );
      }
      if (prev !== undefined && rest.prev !== prev)
        return bad(
          "the chain is broken (prev is not the hash of the record before: one was removed, added or moved)",
        );
      prev = hash;
      records++;
    }
  }
  return { ok: true, records, lastHash: prev ?? GENESIS };
}

/** What the operation under way serves: read late, so subjects that join an in-flight read are listed. */
export interface AuditScope {
  subjects(): AuditSubject[];
  keys(): AuditKey[] | undefined;
  /** What providers noted about the requests of this operation (ProviderContext.noteRequest). */
  details?: CallDetail[];
}

/** A fresh scope for one operation: the same subjects and keys, its own noted details. */
export function operationScope(scope: AuditScope): AuditScope {
  return { subjects: scope.subjects, keys: scope.keys, details: [] };
}

/** ProviderContext.noteRequest: adds to the scope of the operation under way. */
export function noteRequest(detail: CallDetail): void {
  auditScope.getStore()?.details?.push(detail);
}

/** ProviderContext.subject: whom the operation under way serves, as `es/NS/NAME` or `app/NAME`. */
export function currentSubjects(): string[] {
  return (auditScope.getStore()?.subjects() ?? []).map((s) =>
    s.kind === "ExternalSecret"
      ? `es/${s.namespace}/${s.name}`
      : s.kind === "Application"
        ? `app/${s.name}`
        : `repo/${s.name.split("/").at(-1) ?? ""}`,
  );
}

/**
 * The scope of the backend operation under way, so a call a provider reports
 * itself (a login, an AWS request, with its request id) names whom it served.
 */
export const auditScope = {
  getStore: (): AuditScope | undefined => scopeStorage().getStore(),
  run: <R>(scope: AuditScope, fn: () => R): R => scopeStorage().run(scope, fn),
};

/**
 * Made on first use: the plugin's start-up snapshot (src/cli/snapshot.ts) loads this module
 * at its build, and Node does not vouch for async_hooks state made there.
 */
const scopeStorage = onFirstUse(
  (): AsyncLocalStorage<AuditScope> => new (process.getBuiltinModule("node:async_hooks").AsyncLocalStorage)(),
);

export interface AuditorOptions {
  /** Fail closed (--audit-required): `admit` refuses backend calls while the sink fails. */
  required?: boolean;
  /** The in-memory window served at /api/v1/audit (AuditWindow). */
  window?: { add(record: AuditRecord): void };
  /** Each record handed to the sink (for metrics). */
  onRecord?(record: AuditRecord): void;
}

/** Turns call reports into records: the actor, the time and the scope's subjects added. */
export class Auditor {
  readonly #sink: AuditSink;
  readonly #actor: AuditRecord["actor"];
  readonly #options: AuditorOptions;

  constructor(sink: AuditSink, actor: AuditRecord["actor"], options: AuditorOptions = {}) {
    this.#sink = sink;
    this.#actor = actor;
    this.#options = options;
  }

  /** What keeps records from being written, while it lasts. */
  get failure(): Error | undefined {
    return this.#sink.failure;
  }

  close(): void {
    this.#sink.close?.();
  }

  /**
   * Before a backend call: with --audit-required, throws AuditSinkError while
   * the sink cannot write (after trying once more), so no call goes unrecorded.
   */
  admit(): void {
    if (!this.#options.required || this.#sink.recover?.() !== false) return;
    throw new AuditSinkError(
      `audit sink failing (${this.#sink.failure?.message ?? "unknown error"}); ` +
        "backend calls wait for it to recover (--audit-required)",
    );
  }

  /**
   * A request the provider reports itself (a login, a token lookup, each AWS or Azure request):
   * it names whom the operation under way serves, but only its own request id and identity,
   * never those noted for the operation.
   */
  recordCall(
    op: Parameters<Auditor["record"]>[0],
    detail: CallDetail = {},
    scope: AuditScope | undefined = auditScope.getStore(),
  ): void {
    this.record(op, detail, scope && { subjects: scope.subjects, keys: scope.keys });
  }

  /** One backend operation; `scope` defaults to the one it runs in. */
  record(
    op: {
      store: string;
      provider: string;
      operation: string;
      result: CallResult;
      seconds: number;
      reason?: string;
    },
    detail: CallDetail = {},
    scope: AuditScope | undefined = auditScope.getStore(),
  ): void {
    const keys = detail.keys ?? scope?.keys();
    const noted = scope?.details ?? [];
    const requestIds = noted.map((d) => d.requestId).filter((id): id is string => id !== undefined);
    const requestId = detail.requestId ?? (requestIds.length > 0 ? requestIds.join(",") : undefined);
    const identity = detail.identity ?? noted.findLast((d) => d.identity)?.identity;
    const record: AuditRecord = {
      time: new Date().toISOString(),
      actor: this.#actor,
      subjects: scope?.subjects() ?? [],
      store: op.store,
      provider: op.provider,
      ...(identity && { identity }),
      operation: op.operation,
      ...(keys && keys.length > 0 && { keys }),
      outcome: outcomeOf(op.result),
      ...(op.reason && { reason: op.reason }),
      ...(requestId && { requestId }),
      durationMs: Math.round(op.seconds * 1000),
    };
    this.#sink.write(record);
    this.#options.window?.add(record);
    this.#options.onRecord?.(record);
  }
}

/** The typed reason of an error for a record (never its message, which may quote a backend). */
export function reasonOf(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === "string" ? reason : error instanceof Error ? error.name : "Error";
}

/**
 * `client` with one audit record per call into it (unless it reports each
 * backend request itself: `metersOwnRequests`), for callers without a
 * StoreSession (the plugin, `refsync migrate`). Every call runs in `scope`,
 * so the calls the client reports itself name the same subjects.
 */
export function auditedClient(
  client: ProviderClient,
  auditor: Auditor,
  store: string,
  subjects: readonly AuditSubject[],
): ProviderClient {
  const scopeOf = (keys?: AuditKey[]): AuditScope => ({ subjects: () => [...subjects], keys: () => keys });
  const call = async <T>(
    operation: string,
    keys: AuditKey[] | undefined,
    fn: () => Promise<T>,
  ): Promise<T> => {
    auditor.admit();
    const scope = operationScope(scopeOf(keys));
    const started = performance.now();
    const done = (result: CallResult, error?: unknown) => {
      if (client.metersOwnRequests) return;
      const seconds = (performance.now() - started) / 1000;
      auditor.record(
        { store, provider: client.provider, operation, result, seconds, reason: reasonOf(error) },
        {},
        scope,
      );
    };
    try {
      const value = await auditScope.run(scope, fn);
      done("success");
      return value;
    } catch (error) {
      done(callResultOf(error), error);
      throw error;
    }
  };
  const keyOf = (r: ReadRequest): AuditKey => ({
    key: r.key,
    ...(r.version !== undefined && { version: r.version }),
  });
  const wrapped: ProviderClient = {
    provider: client.provider,
    ...(client.metersOwnRequests !== undefined && { metersOwnRequests: client.metersOwnRequests }),
    read: (request, signal) => call("read", [keyOf(request)], () => client.read(request, signal)),
    list: (query, signal) => call("list", undefined, () => client.list(query, signal)),
    validate: (signal) => call("validate", undefined, () => client.validate(signal)),
    close: () => client.close(),
  };
  const { readMany, currentVersion, write, renewLease, revokeLease } = client;
  if (readMany)
    wrapped.readMany = (requests, signal) =>
      call("readMany", requests.map(keyOf), () => readMany.call(client, requests, signal));
  if (currentVersion)
    wrapped.currentVersion = (request, signal) =>
      call("currentVersion", [keyOf(request)], () => currentVersion.call(client, request, signal));
  if (write)
    wrapped.write = (key, data, signal) =>
      call("write", [{ key }], () => write.call(client, key, data, signal));
  if (renewLease)
    wrapped.renewLease = (lease, signal) =>
      call("renewLease", undefined, () => renewLease.call(client, lease, signal));
  if (revokeLease)
    wrapped.revokeLease = (lease, signal) =>
      call("revokeLease", undefined, () => revokeLease.call(client, lease, signal));
  return wrapped;
}
