// Which requested SecretId each entry of a BatchGetSecretValue answer belongs
// to. A SecretId may be a name, a complete ARN or a partial ARN (without the
// `-XXXXXX` suffix Secrets Manager adds to the name in the ARN). AWS answers a
// value with the secret's Name and complete ARN, and an error with a SecretId
// that is "the ARN or name of the secret"; so a partial ARN, or an error
// reported under another form of the id, matches nothing exactly.

/** The `-XXXXXX` Secrets Manager appends to a secret's name in its ARN. */
const ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;
const SUFFIX_LENGTH = 7;
const SECRET_SEGMENT = ":secret:";

export interface BatchValueEntry {
  Name?: string | undefined;
  ARN?: string | undefined;
}

export interface BatchErrorEntry {
  SecretId?: string | undefined;
}

export type Attributed<V, E> = { value: V } | { error: E };

/** The name part of a Secrets Manager ARN (after `:secret:`), or undefined for a name. */
function arnName(id: string): string | undefined {
  if (!id.startsWith("arn:")) return undefined;
  const at = id.indexOf(SECRET_SEGMENT);
  return at === -1 ? undefined : id.slice(at + SECRET_SEGMENT.length);
}

/**
 * Whether AWS reads `id` as a partial ARN. An ARN whose name part ends in `-`
 * and six letters or digits is taken as complete (AWS documents this for
 * every SecretId): for a secret named `app-abcdef` a partial ARN finds nothing.
 */
export function isPartialArn(id: string): boolean {
  const name = arnName(id);
  return name !== undefined && !ARN_SUFFIX.test(name);
}

/**
 * Whether `reported` (a complete ARN or a name from the answer) denotes the
 * secret that `id` asks for without being equal to it: `id` is a partial ARN
 * of `reported`, or `id` is a name and `reported` its complete ARN.
 */
function denotes(id: string, reported: string): boolean {
  const reportedName = arnName(reported);
  if (isPartialArn(id)) {
    // Only a complete ARN says which account and region a name belongs to.
    return (
      reportedName !== undefined &&
      reported.length === id.length + SUFFIX_LENGTH &&
      reported.startsWith(`${id}-`) &&
      ARN_SUFFIX.test(reported)
    );
  }
  if (id.startsWith("arn:") || reportedName === undefined || !ARN_SUFFIX.test(reportedName)) return false;
  return reportedName.slice(0, -SUFFIX_LENGTH) === id;
}

/**
 * Gives each requested id its value or error. Exact matches come first (a
 * value by Name or ARN, then an error by SecretId); then an entry that
 * denotes the same secret in another form. An error reported under another
 * requested id belongs to that id only. Ids left without an answer are
 * absent from the map: the caller asks for them alone (GetSecretValue), so a
 * read's outcome never depends on the company it was batched with.
 */
export function attribute<V extends BatchValueEntry, E extends BatchErrorEntry>(
  ids: readonly string[],
  values: readonly V[],
  errors: readonly E[],
): Map<string, Attributed<V, E>> {
  const requested = new Set(ids);
  const result = new Map<string, Attributed<V, E>>();
  for (const id of ids) {
    const exactValue = values.find((v) => v.Name === id || v.ARN === id);
    if (exactValue) {
      result.set(id, { value: exactValue });
      continue;
    }
    const exactError = errors.find((e) => e.SecretId === id);
    if (exactError) {
      result.set(id, { error: exactError });
      continue;
    }
    const value = values.find((v) => v.ARN !== undefined && denotes(id, v.ARN));
    if (value) {
      result.set(id, { value });
      continue;
    }
    const error = errors.find(
      (e) => e.SecretId !== undefined && !requested.has(e.SecretId) && denotes(id, e.SecretId),
    );
    if (error) result.set(id, { error });
  }
  return result;
}
