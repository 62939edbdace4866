/**
 * Vault Enterprise's replication states (the X-Vault-Index header), kept as
 * Vault's Go client keeps them with ReadYourWrites: each answer's state is
 * merged into at most two remembered states, and every request sends them
 * back so a performance standby serves it only once it has caught up.
 *
 * A state is base64 of `v1:<cluster-id>:<local-index>:<replicated-index>:<hmac>`.
 * Merging keeps, for the same cluster, the newer state when one is newer in
 * both indexes, and both when neither is; a state that does not parse, or
 * one of another cluster, replaces what was remembered.
 */

interface ParsedState {
  cluster: string;
  local: bigint;
  replicated: bigint;
}

export function parseReplicationState(raw: string): ParsedState | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) return undefined;
  const decoded = Buffer.from(raw, "base64").toString("utf8");
  const last = decoded.lastIndexOf(":");
  if (last === -1 || !/^[0-9a-fA-F]*$/.test(decoded.slice(last + 1))) return undefined;
  const [version, cluster, local, replicated, ...rest] = decoded.slice(0, last).split(":");
  if (version !== "v1" || !cluster || rest.length > 0) return undefined;
  if (!/^\d+$/.test(local ?? "") || !/^\d+$/.test(replicated ?? "")) return undefined;
  return { cluster, local: BigInt(local!), replicated: BigInt(replicated!) };
}

/** 1: `a` is as new or newer in both indexes; -1: older in both; 0: neither; undefined: not comparable. */
function compare(a: string, b: string): 1 | -1 | 0 | undefined {
  const left = parseReplicationState(a);
  const right = parseReplicationState(b);
  if (!left || !right || left.cluster !== right.cluster) return undefined;
  if (left.local >= right.local && left.replicated >= right.replicated) return 1;
  if (left.local <= right.local && left.replicated <= right.replicated) return -1;
  return 0;
}

/** The remembered states after an answer carried `state`. */
export function mergeReplicationStates(old: readonly string[], state: string): string[] {
  if (old.length === 0 || old.length > 2) return [state];
  const merged: string[] = [];
  for (const previous of old) {
    const order = compare(previous, state);
    if (order === undefined) return [state];
    if (order === 1) merged.push(previous);
    else if (order === -1) merged.push(state);
    else merged.push(previous, state);
  }
  return [...new Set(merged)];
}

export function replicationStates(): { current(): string[]; record(state: string): void } {
  let states: string[] = [];
  return {
    current: () => [...states],
    record: (state) => {
      states = mergeReplicationStates(states, state);
    },
  };
}
