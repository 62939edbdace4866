/**
 * `refsync migrate`: move the literal values of the working tree's Secrets
 * into a backend and commit references in their place, on a new branch.
 *
 * Order matters for safety. Everything that can fail without side effects
 * runs first (clean tree, plan, duplicate keys, backend conflicts); then the
 * backend writes, one by one, recorded as they succeed; then the commit, made
 * as objects with the branch ref written last. A failure in the writes leaves
 * the repository untouched and reports which writes happened; re-running
 * finds those values already there ("unchanged") and carries on.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isMap, isScalar, isSeq, type Document, type YAMLMap } from "yaml";
import { MigrateError, SecretNotFoundError, type WriteRecord } from "../errors.ts";
import type { ProviderClient, SecretValue } from "../providers/types.ts";
import type { ProviderName } from "../refs/reference.ts";
import { formatReference, isSecret, type Reference } from "../refs/index.ts";
import { branchExists, checkoutBranch, commitToNewBranch, dirtyFiles, trackedFiles } from "./commit.ts";
import { hasHistory } from "./history.ts";
import { containsReference } from "./references.ts";
import { annotationsOf, objectOf, parseEditable, stringAt } from "./yaml-edit.ts";

export interface MigrateOptions {
  dir: string;
  /** Store name, for messages and the `store=` parameter. */
  store: string;
  provider: ProviderName;
  client: ProviderClient;
  /** Backend keys are `<pathPrefix>/<namespace>/<name>` (namespace left out when unset; `_` for gcpsm, `-` for azurekv). */
  pathPrefix: string;
  /** Leave `store=` out of references (the store is the default for its provider). */
  defaultStore?: boolean;
  branch: string;
  dryRun?: boolean;
  /** Check the new branch out (default true). */
  checkout?: boolean;
}

export interface PlannedSecret {
  file: string;
  object: string;
  /** Backend key the values go to. */
  key: string;
  /** Secret keys moved; values stay in `data` only in memory, never in the plan's output. */
  fields: string[];
}

export interface MigrateResult {
  plan: PlannedSecret[];
  writes: WriteRecord[];
  branch?: string;
  commit?: string;
  /** YAML files that could not be parsed (Helm templates…) and were left alone. */
  skipped: string[];
}

interface Field {
  name: string;
  value: string;
  /** From `data` and not UTF-8: stored as base64, read back with decode=base64. */
  binary: boolean;
}

interface SecretPlan extends PlannedSecret {
  document: number;
  values: Field[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What a YAML node is, for an error message: never its value. */
function kindOf(node: unknown): string {
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  return isScalar(node) ? `a ${typeof node.value}` : "an alias";
}

/**
 * A Secret's `data` or `stringData`: a map of scalars, or undefined when it is
 * absent or null (Kubernetes reads both as empty). Anything else is refused,
 * naming `where` (file and object) and the field.
 */
function secretMap(doc: Document.Parsed, source: "data" | "stringData", where: string): YAMLMap | undefined {
  const node = doc.get(source, true);
  if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isMap(node))
    throw new MigrateError(`${where}: ${source}: expected a map of key: value, found ${kindOf(node)}`);
  for (const pair of node.items) {
    if (!isScalar(pair.value) && pair.value !== null) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      throw new MigrateError(`${where}: ${source}.${key}: expected a string, found ${kindOf(pair.value)}`);
    }
  }
  return node;
}

/** The literal (non-reference, non-empty) values of a Secret document, stringData winning over data as in Kubernetes. */
function literalFields(doc: Document.Parsed, where: string): Field[] {
  const annotations = annotationsOf(doc.contents);
  const fields = new Map<string, Field>();
  for (const source of ["data", "stringData"] as const) {
    for (const pair of secretMap(doc, source, where)?.items ?? []) {
      if (!isScalar(pair.key) || !isScalar(pair.value) || pair.value.value === null) continue;
      const name = String(pair.key.value);
      const raw = String(pair.value.value);
      if (source === "stringData") fields.delete(name);
      if (raw === "") continue;
      if (source === "stringData") {
        if (!containsReference(raw, annotations)) fields.set(name, { name, value: raw, binary: false });
        continue;
      }
      const bytes = Buffer.from(raw, "base64");
      let text: string | undefined;
      try {
        text = utf8.decode(bytes);
      } catch {
        text = undefined;
      }
      if (containsReference(raw, annotations) || (text !== undefined && containsReference(text, annotations)))
        continue;
      fields.set(
        name,
        text === undefined
          ? { name, value: bytes.toString("base64"), binary: true }
          : { name, value: text, binary: false },
      );
    }
  }
  return [...fields.values()];
}

/**
 * What joins prefix, namespace and name in a backend key: `/`, except where the backend's
 * names cannot hold it. Google secret ids take `_`, which no namespace or Secret name holds.
 * Key Vault names hold only letters, digits and `-`: `-` joins, and stands for the `/` of a
 * prefix and the `.` of a Secret name. Two Secrets that meet at one name are caught as any
 * shared key is: with different values, migrate stops before writing.
 */
const KEY_SEPARATOR: Partial<Record<ProviderName, string>> = { gcpsm: "_", azurekv: "-" };

function backendKey(
  provider: ProviderName,
  prefix: string,
  namespace: string | undefined,
  name: string,
): string {
  const separator = KEY_SEPARATOR[provider] ?? "/";
  const parts = [prefix.replace(/^\/+|\/+$/g, ""), namespace, name].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  return (provider === "azurekv" ? parts.map((p) => p.replace(/[/.]+/g, "-")) : parts).join(separator);
}

function asRecord(fields: Field[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f.name, f.value]));
}

/** A backend secret as a map of strings (AWS holds a JSON document), or undefined when it is not one. */
function toStringMap(value: SecretValue["data"]): Record<string, string> | undefined {
  let data: unknown = value;
  if (value instanceof Uint8Array) data = Buffer.from(value).toString("utf8");
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

function sameData(a: Record<string, string>, b: Record<string, string> | undefined): boolean {
  if (!b) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const { dir, client } = options;
  if (!(await hasHistory(dir))) throw new MigrateError(`${dir}: not a Git repository with a commit`);
  const dirty = await dirtyFiles(dir);
  if (dirty.length) {
    throw new MigrateError(
      `the working tree has uncommitted changes (${dirty.slice(0, 5).join(", ")}${dirty.length > 5 ? ", …" : ""}); commit or stash them first`,
    );
  }
  if (!options.dryRun && (await branchExists(dir, options.branch))) {
    throw new MigrateError(`branch ${options.branch} already exists; choose another with --branch`);
  }

  // 1. Plan: every Secret with literal values in tracked YAML files.
  const result: MigrateResult = { plan: [], writes: [], skipped: [] };
  const plans: SecretPlan[] = [];
  const files = new Map<string, ReturnType<typeof parseEditable>>();
  for (const file of (await trackedFiles(dir)).filter((f) => /\.ya?ml$/.test(f))) {
    let editable;
    try {
      editable = parseEditable(await readFile(join(dir, file), "utf8"), file);
    } catch {
      result.skipped.push(file);
      continue;
    }
    editable.docs.forEach((doc, document) => {
      if (!doc.contents || !isSecret(doc.contents.toJSON())) return;
      const object = objectOf(doc.contents);
      const values = literalFields(doc, `${file}: ${object ?? `document ${document}`}`);
      if (!values.length) return;
      const metadata = doc.get("metadata", true);
      const name = stringAt(metadata, "name");
      if (!name) throw new MigrateError(`${file}: document ${document}: a Secret without metadata.name`);
      const key = backendKey(options.provider, options.pathPrefix, stringAt(metadata, "namespace"), name);
      plans.push({
        file,
        document,
        object: object ?? `Secret/${name}`,
        key,
        fields: values.map((v) => v.name),
        values,
      });
      files.set(file, editable);
    });
  }
  result.plan = plans.map(({ file, object, key, fields }) => ({ file, object, key, fields }));

  // 2. One backend key per distinct content: two Secrets may share a key only with identical values.
  const byKey = new Map<string, SecretPlan>();
  for (const p of plans) {
    const other = byKey.get(p.key);
    if (other && !sameData(asRecord(other.values), asRecord(p.values))) {
      throw new MigrateError(
        `${p.file} ${p.object} and ${other.file} ${other.object} would both be stored at "${p.key}" with different values; give them different namespaces or a different --path-prefix`,
      );
    }
    byKey.set(p.key, p);
  }
  if (options.dryRun || plans.length === 0) return result;
  const write = client.write?.bind(client);
  if (!write) throw new MigrateError(`${options.store}: the ${options.provider} provider cannot write`);

  // 3. Conflicts: an existing backend secret must already hold exactly these values.
  const pending: SecretPlan[] = [];
  const conflicts: string[] = [];
  for (const [key, p] of byKey) {
    let existing: Record<string, string> | undefined;
    try {
      const value = await client.read({ key });
      existing = toStringMap(value.data) ?? {};
    } catch (err) {
      if (!(err instanceof SecretNotFoundError))
        throw new MigrateError(`${options.store}: reading "${key}": ${(err as Error).message}`, [], {
          cause: err,
        });
    }
    if (existing === undefined) pending.push(p);
    else if (sameData(asRecord(p.values), existing)) result.writes.push({ key, outcome: "unchanged" });
    else
      conflicts.push(
        `"${key}" (from ${p.file} ${p.object}) already exists in ${options.store} with different values`,
      );
  }
  if (conflicts.length) throw new MigrateError(`nothing written; conflicts:\n  ${conflicts.join("\n  ")}`);

  // 4. Writes, recorded as they succeed.
  for (const p of pending) {
    try {
      const written = await write(p.key, asRecord(p.values));
      result.writes.push({ key: p.key, outcome: written.outcome });
    } catch (err) {
      throw new MigrateError(
        `${options.store}: writing "${p.key}" failed: ${(err as Error).message}; the repository is unchanged`,
        result.writes,
        { cause: err },
      );
    }
  }
  // 5. References in place of the values, committed on a new branch.
  const changed = new Map<string, Set<number>>();
  for (const p of plans) {
    const doc = files.get(p.file)!.docs[p.document]!;
    // Either map may be absent or null (checked in the plan): a null stringData becomes a map in place.
    const data = doc.get("data", true);
    const dataItems = isMap(data) ? data.items.length : 0;
    if (!isMap(doc.get("stringData", true))) doc.set("stringData", doc.createNode({}));
    for (const f of p.values) {
      const ref: Reference = {
        provider: options.provider,
        path: p.key,
        fragment: f.name,
        ...(options.defaultStore ? {} : { store: options.store }),
        ...(f.binary ? { decode: "base64" as const } : {}),
      };
      // stringData wins over data in Kubernetes; either way no literal may stay behind.
      if (isMap(data)) data.delete(f.name);
      doc.setIn(["stringData", f.name], formatReference(ref));
    }
    // A data map the migration emptied goes; one that was empty (or null) already stays as written.
    if (isMap(data) && dataItems > 0 && data.items.length === 0) doc.delete("data");
    changed.set(p.file, (changed.get(p.file) ?? new Set()).add(p.document));
  }
  const message = [
    `refsync migrate: move ${plans.reduce((n, p) => n + p.fields.length, 0)} value(s) of ${plans.length} Secret(s) to ${options.store}`,
    "",
    ...plans.map((p) => `- ${p.file}: ${p.object}: ${p.fields.join(", ")} -> ${options.store}:${p.key}`),
    "",
  ].join("\n");
  const changes = [...changed].map(([path, docs]) => ({ path, content: files.get(path)!.render(docs) }));
  result.commit = await commitToNewBranch(dir, options.branch, changes, message);
  result.branch = options.branch;
  if (options.checkout !== false) await checkoutBranch(dir, options.branch);
  return result;
}
