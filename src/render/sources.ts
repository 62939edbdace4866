/**
 * Reads the manifests to render: a directory tree of YAML/JSON files, a
 * Kustomize directory (built with `kustomize build` or `kubectl kustomize`),
 * a Helm chart (`helm template`), or a stream on stdin (`-`). Documents come
 * out in a fixed order (files sorted by path, documents in file order), so
 * the same input always renders the same output.
 */
import { statSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { delimiter, join, relative } from "node:path";
import { isPair, isScalar, isSeq, parseAllDocuments, Scalar, visit, type Document } from "yaml";
import { formatPath, type PathSegment, type SourceDocument } from "../refs/find.ts";
import { configSchema } from "./config.ts";

export interface SourceResult {
  documents: SourceDocument[];
  errors: string[];
}

const KUSTOMIZATIONS = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const MANIFEST = /\.(ya?ml|json)$/;

const isMap = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

/** The renderer writes annotations: metadata and its maps must be maps. */
function metadataProblem(metadata: unknown): string | undefined {
  if (metadata === undefined) return undefined;
  if (!isMap(metadata)) return "metadata must be a map";
  for (const field of ["labels", "annotations"]) {
    const map = (metadata as Record<string, unknown>)[field];
    if (map !== undefined && map !== null && !isMap(map)) return `metadata.${field} must be a map`;
  }
  return undefined;
}

const MAX_DEPTH = 128; // far beyond any Kubernetes object; keeps the recursive walkers downstream safe

/** An alias inside its own anchor makes a cycle; very deep nesting overflows recursive walkers. */
function structureProblem(value: unknown): string | undefined {
  const onPath = new Set<object>(); // the nodes from the root to the current one
  const stack: { node: unknown; depth: number; leave?: boolean }[] = [{ node: value, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { node, depth, leave } = item;
    if (typeof node !== "object" || node === null) continue;
    if (leave) {
      onPath.delete(node);
      continue;
    }
    if (onPath.has(node)) return "an alias refers to a node that contains it";
    if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
    onPath.add(node);
    stack.push({ node, depth, leave: true });
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return undefined;
}

/** Paths of quoted scalar values that may hold a reference. */
function quotedReferences(doc: Document): Set<string> {
  const quoted = new Set<string>();
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === "key" || (node.type !== Scalar.QUOTE_DOUBLE && node.type !== Scalar.QUOTE_SINGLE)) return;
      if (typeof node.value !== "string" || !(node.value.includes("ref+") || node.value.includes("<")))
        return;
      const path: PathSegment[] = [];
      const chain = [...ancestors, node];
      chain.forEach((ancestor, i) => {
        if (isPair(ancestor))
          path.push(isScalar(ancestor.key) ? String(ancestor.key.value) : String(ancestor.key));
        else if (isSeq(ancestor)) path.push(ancestor.items.indexOf(chain[i + 1] as never));
      });
      quoted.add(formatPath(path));
    },
  });
  return quoted;
}

export interface StreamOptions {
  /** Record quoted references (inline mode needs them). */
  trackQuotes?: boolean;
  /**
   * Drop documents without apiVersion and kind (a checker reading a repository's values files
   * and patches) instead of refusing them.
   */
  skipNonObjects?: boolean;
  /** Drop a stream that is just a plugin configuration (a refsync.yaml kept beside manifests). */
  skipPluginConfig?: boolean;
}

/** Parses a YAML/JSON stream; empty documents are skipped, syntax errors collected. */
export function parseStream(text: string, file: string, options: StreamOptions = {}): SourceResult {
  const { trackQuotes = false, skipNonObjects = false, skipPluginConfig = false } = options;
  const result: SourceResult = { documents: [], errors: [] };
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(text) as Document.Parsed[];
  } catch {
    // The parser recurses per nesting level: hostile input overflows the stack.
    result.errors.push(`${file}: invalid YAML: nested too deeply`);
    return result;
  }
  documents.forEach((doc, index) => {
    if (doc.errors.length) {
      const first = doc.errors[0] as { message: string };
      result.errors.push(`${file}: document ${index}: invalid YAML: ${first.message.split("\n")[0]}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      const why = err instanceof ReferenceError ? "too many aliases" : "nested too deeply";
      result.errors.push(`${file}: document ${index}: invalid YAML: ${why}`);
      return;
    }
    const shape = structureProblem(value);
    if (shape) {
      result.errors.push(`${file}: document ${index}: invalid YAML: ${shape}`);
      return;
    }
    if (value === null || value === undefined) return;
    if (typeof value !== "object" || Array.isArray(value) || !("kind" in value) || !("apiVersion" in value)) {
      if (skipNonObjects || (skipPluginConfig && documents.length === 1 && isPluginConfig(value))) return;
      result.errors.push(`${file}: document ${index}: not a Kubernetes object (needs apiVersion and kind)`);
      return;
    }
    const problem = metadataProblem((value as { metadata?: unknown }).metadata);
    if (problem) {
      result.errors.push(`${file}: document ${index}: ${problem}`);
      return;
    }
    result.documents.push({ file, index, value, ...(trackQuotes ? { quoted: quotedReferences(doc) } : {}) });
  });
  return result;
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      return dir !== "" && statSync(join(dir, binary)).isFile();
    } catch {
      return false;
    }
  });
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  // Loaded here, not at import: the plugin's start-up snapshot (src/cli/snapshot.ts) loads this
  // module at its build, and Node does not vouch for child_process loaded there.
  const { execFile } = process.getBuiltinModule("node:child_process");
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        // The tool's own first lines say what is wrong; keep them short for Argo CD's UI.
        const detail = (stderr || err.message).trim().split("\n").slice(0, 3).join(" ");
        reject(new Error(`${command} ${args[0] ?? ""} failed: ${detail}`));
      } else resolve(stdout);
    });
  });
}

/** A plugin configuration (`stores`, `policy`, `modes`…; no apiVersion or kind), parsed once with the stream. */
function isPluginConfig(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k in configSchema.shape);
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile() && MANIFEST.test(entry.name)) files.push(full);
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function build(
  dir: string,
  release: NonNullable<SourceOptions["release"]>,
): Promise<{ text: string; label: string } | undefined> {
  for (const name of KUSTOMIZATIONS) {
    if (!(await exists(join(dir, name)))) continue;
    if (onPath("kustomize"))
      return { text: await run("kustomize", ["build", "."], dir), label: "kustomize build" };
    if (onPath("kubectl"))
      return { text: await run("kubectl", ["kustomize", "."], dir), label: "kubectl kustomize" };
    throw new Error(`${name} found, but neither kustomize nor kubectl is on PATH`);
  }
  if (await exists(join(dir, "Chart.yaml"))) {
    if (!onPath("helm"))
      throw new Error(
        "Chart.yaml found, but helm is not on PATH (pipe `helm template` into `refsync generate -`)",
      );
    const args = ["template", release.name || "release", "."];
    if (release.namespace) args.push("--namespace", release.namespace);
    return { text: await run("helm", args, dir), label: "helm template" };
  }
  return undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export interface SourceOptions {
  stdin?: () => Promise<string>;
  /** Record quoted references (inline mode). */
  trackQuotes?: boolean;
  /** Helm's release name and namespace: Argo CD's ARGOCD_APP_NAME and ARGOCD_APP_NAMESPACE. */
  release?: { name?: string; namespace?: string };
  /** Skip documents that are not Kubernetes objects instead of refusing them (see parseStream). */
  skipNonObjects?: boolean;
  /** Name a directory's files with `input` in front (several inputs), not relative to it. */
  qualify?: boolean;
}

/** Reads `input` (a directory, a file, or `-` for stdin). */
export async function readSources(input: string, options: SourceOptions = {}): Promise<SourceResult> {
  const { stdin = readStdin, trackQuotes = false, skipNonObjects = false } = options;
  if (input === "-") return parseStream(await stdin(), "stdin", { trackQuotes, skipNonObjects });
  let info;
  try {
    info = await stat(input);
  } catch {
    return { documents: [], errors: [`${input}: no such file or directory`] };
  }
  if (info.isFile())
    return parseStream(await readFile(input, "utf8"), input, { trackQuotes, skipNonObjects });
  try {
    const built = await build(input, options.release ?? {});
    if (built) {
      const label = options.qualify ? `${input}: ${built.label}` : built.label;
      return parseStream(built.text, label, { trackQuotes, skipNonObjects });
    }
  } catch (err) {
    return { documents: [], errors: [`${input}: ${(err as Error).message}`] };
  }
  const result: SourceResult = { documents: [], errors: [] };
  const files = (await walk(input)).map((f) => relative(input, f)).sort();
  for (const file of files) {
    const name = options.qualify ? join(input, file) : file;
    const text = await readFile(join(input, file), "utf8");
    const parsed = parseStream(text, name, { trackQuotes, skipNonObjects, skipPluginConfig: true });
    result.documents.push(...parsed.documents);
    result.errors.push(...parsed.errors);
  }
  return result;
}
