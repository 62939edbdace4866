/**
 * `refsync validate [path…]`: check manifests before they reach a cluster,
 * for CI and for Flux users who commit ExternalSecrets directly. Every
 * `refsync.dev` object (ExternalSecret, SecretStore, ClusterSecretStore,
 * ClusterExternalSecret) is checked strictly, as the controller checks it,
 * and every reference for syntax; an `external-secrets.io` object of those
 * kinds (v1 or v1beta1) is converted as the plugin converts it and checked
 * as the object it becomes. The API server would prune an unknown field silently, so a typo
 * such as `remoteRef.proprety` is caught here or not at all. Files are read
 * as the plugin reads them (src/render/sources.ts), except that documents
 * which are not Kubernetes objects (values files, patches) are skipped.
 * Exit 0 when everything is valid (a one-line summary on stdout), 1 with
 * every problem on stderr, one line each, 2 on bad usage.
 */
import { parseCommandLine, processIO, type CommandIO } from "./command-line.ts";
import { findInDocument } from "../refs/find.ts";
import { checkObjects, convertEsoDocument } from "../render/objects.ts";
import { readSources } from "../render/sources.ts";

export const validateUsage = `usage: refsync validate [path…]
  path        YAML/JSON files or directories (default .); "-" reads stdin.
              A Kustomize directory or Helm chart is built first, as the plugin does.
Checks every refsync.dev object (ExternalSecret, SecretStore, ClusterSecretStore,
ClusterExternalSecret) strictly, as the controller does (an unknown field is an
error), every external-secrets.io object as the plugin converts it, and every
reference (ref+…, AVP placeholders) for syntax. Exit 0 when all is valid,
1 with every problem listed on stderr, 2 on bad usage.`;

export interface ValidateIO extends CommandIO {
  stdin?: () => Promise<string>;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

export async function validateCommand(argv: string[], io: ValidateIO = processIO): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv, { help: { type: "boolean", short: "h" } });
  } catch (err) {
    io.stderr.write(`refsync validate: ${(err as Error).message} (see refsync validate --help)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${validateUsage}\n`);
    return 0;
  }
  const inputs = positionals.length ? positionals : ["."];
  if (inputs.filter((i) => i === "-").length > 1) {
    io.stderr.write(`refsync validate: stdin ("-") can be read only once\n`);
    return 2;
  }

  const errors: string[] = [];
  let documents = 0;
  let objects = 0;
  let references = 0;
  for (const input of inputs) {
    const sources = await readSources(input, {
      skipNonObjects: true,
      qualify: true,
      ...(io.stdin ? { stdin: io.stdin } : {}),
    });
    errors.push(...sources.errors);
    if (input === "-" && !sources.documents.length && !sources.errors.length) {
      // As for the plugin: an empty stream is an upstream command that failed in a pipe, not a pass.
      // Files and directories may hold none (a pre-commit hook passes whatever YAML changed).
      errors.push("stdin: no manifests found (empty input is an error)");
    }
    for (const doc of sources.documents) {
      // An ESO object is checked as the plugin renders it: converted (each field refsync refuses
      // named), then as the refsync object it becomes.
      const eso = convertEsoDocument(doc);
      errors.push(...eso.errors);
      if (eso.errors.length) objects++;
      const checked = checkObjects([eso.value ? { ...doc, value: eso.value } : doc]);
      objects += checked.checked;
      errors.push(...checked.errors);
      const found = findInDocument(doc);
      references += found.occurrences.reduce((n, o) => n + o.tokens.length, 0);
      errors.push(...found.errors.map((e) => e.message));
    }
    documents += sources.documents.length;
  }
  if (errors.length) {
    io.stderr.write(errors.map((e) => `${e}\n`).join(""));
    return 1;
  }
  io.stdout.write(
    `${plural(objects, "object")} valid (${plural(documents, "document")}, ${plural(references, "reference")})\n`,
  );
  return 0;
}
