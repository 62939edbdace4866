// Identities of the test server: IAM users with static keys, roles with a
// trust policy and a simple policy of readable/writable secret names, and the
// temporary credentials STS issues for them.
import { randomBytes } from "node:crypto";
import { AwsError } from "./errors.ts";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Secret-name patterns: `*` matches any run of characters. */
export interface SecretPolicy {
  read?: string[];
  write?: string[];
  /** Whether secretsmanager:BatchGetSecretValue is granted (default true; AWS grants it on `*`, apart from reads). */
  batchGet?: boolean;
  /**
   * Whether secretsmanager:ListSecrets is granted (default true). AWS grants it on `*` only, apart
   * from reads: it lists every secret of the account, and BatchGetSecretValue with Filters needs it.
   */
  list?: boolean;
  /** SQS queue-name patterns the identity may receive from, delete from and send to (none by default). */
  queues?: string[];
}

export interface UserSpec extends SecretPolicy {
  name: string;
}

export interface RoleSpec extends SecretPolicy {
  name: string;
  /** Service accounts (`namespace/name`, `namespace/*`) allowed AssumeRoleWithWebIdentity. */
  serviceAccounts?: string[];
  /** Principal ARNs (users or roles) allowed AssumeRole. */
  principals?: string[];
  /** When set, AssumeRole must present this ExternalId. */
  externalId?: string;
  /** Whether the trust policy also allows sts:TagSession (needed to pass session tags). */
  tagSession?: boolean;
}

export interface Principal {
  /** `arn:aws:iam::<acct>:user/<name>` or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
  arn: string;
  /** The IAM entity whose policy applies: the user, or the assumed role's ARN. */
  policyArn: string;
  userId: string;
  /** A role session's tags (`aws:PrincipalTag/<key>`): passed ones and inherited transitive ones. */
  tags?: Record<string, string>;
  /** Keys of `tags` that pass on to sessions chained from this one. */
  transitiveTagKeys?: string[];
}

interface Issued {
  credentials: Credentials;
  principal: Principal;
}

export type Action = "read" | "write";

export class Iam {
  readonly account: string;
  readonly #users = new Map<string, UserSpec>();
  readonly #roles = new Map<string, RoleSpec>();
  readonly #keys = new Map<string, Issued>();

  constructor(account: string) {
    this.account = account;
  }

  userArn(name: string): string {
    return `arn:aws:iam::${this.account}:user/${name}`;
  }

  roleArn(name: string): string {
    return `arn:aws:iam::${this.account}:role/${name}`;
  }

  /** Creates an IAM user and returns its long-lived access key. */
  addUser(spec: UserSpec): Credentials {
    const arn = this.userArn(spec.name);
    this.#users.set(arn, spec);
    const credentials = { accessKeyId: keyId("AKIA"), secretAccessKey: secret() };
    this.#keys.set(credentials.accessKeyId, {
      credentials,
      principal: { arn, policyArn: arn, userId: keyId("AIDA") },
    });
    return credentials;
  }

  addRole(spec: RoleSpec): string {
    const arn = this.roleArn(spec.name);
    this.#roles.set(arn, spec);
    return arn;
  }

  role(arn: string): RoleSpec | undefined {
    return this.#roles.get(arn);
  }

  /** Issues temporary credentials for a session of `roleArn`. */
  issueSession(
    roleArn: string,
    sessionName: string,
    lifetimeSeconds: number,
    tags: { tags?: Record<string, string>; transitiveTagKeys?: string[] } = {},
  ): { credentials: Credentials; principal: Principal } {
    const role = this.#roles.get(roleArn);
    if (!role) throw new AwsError("AccessDenied", `Role ${roleArn} does not exist or is not assumable.`, 403);
    const credentials: Credentials = {
      accessKeyId: keyId("ASIA"),
      secretAccessKey: secret(),
      sessionToken: randomBytes(48).toString("base64"),
      expiration: new Date(Math.floor(Date.now() / 1000 + lifetimeSeconds) * 1000),
    };
    const principal: Principal = {
      arn: `arn:aws:sts::${this.account}:assumed-role/${role.name}/${sessionName}`,
      policyArn: roleArn,
      userId: `${keyId("AROA")}:${sessionName}`,
      ...tags,
    };
    this.#keys.set(credentials.accessKeyId, { credentials, principal });
    return { credentials, principal };
  }

  /** The credentials and principal an access key id belongs to, if it was issued here. */
  lookup(accessKeyId: string): Issued | undefined {
    return this.#keys.get(accessKeyId);
  }

  /** Expires every temporary credential now (to test refresh). */
  expireSessions(): void {
    for (const issued of this.#keys.values()) {
      if (issued.credentials.expiration) issued.credentials.expiration = new Date(Date.now() - 1000);
    }
  }

  allowsBatchGet(principal: Principal): boolean {
    const spec = this.#users.get(principal.policyArn) ?? this.#roles.get(principal.policyArn);
    return spec?.batchGet ?? true;
  }

  allowsList(principal: Principal): boolean {
    const spec = this.#users.get(principal.policyArn) ?? this.#roles.get(principal.policyArn);
    return spec?.list ?? true;
  }

  allowsQueue(principal: Principal, queueName: string): boolean {
    const spec = this.#users.get(principal.policyArn) ?? this.#roles.get(principal.policyArn);
    return (spec?.queues ?? []).some((pattern) => globMatch(pattern, queueName));
  }

  /** Patterns may name the session's tags, as `${aws:PrincipalTag/team}` (no such tag: no match). */
  allows(principal: Principal, action: Action, secretName: string): boolean {
    const spec = this.#users.get(principal.policyArn) ?? this.#roles.get(principal.policyArn);
    const patterns = spec?.[action] ?? [];
    return patterns.some((pattern) => {
      const resolved = withPrincipalTags(pattern, principal.tags ?? {});
      return resolved !== undefined && globMatch(resolved, secretName);
    });
  }
}

/** `${aws:PrincipalTag/<key>}` replaced by the tag's value (keys compare without case, as in IAM). */
function withPrincipalTags(pattern: string, tags: Record<string, string>): string | undefined {
  let missing = false;
  const resolved = pattern.replace(/\$\{aws:PrincipalTag\/([^}]+)\}/g, (_, key: string) => {
    const found = Object.entries(tags).find(([tag]) => tag.toLowerCase() === key.toLowerCase());
    if (!found) missing = true;
    return found?.[1] ?? "";
  });
  return missing ? undefined : resolved;
}

export function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`).test(value);
}

function keyId(prefix: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return prefix + [...randomBytes(16)].map((b) => alphabet[b % 32]).join("");
}

function secret(): string {
  return randomBytes(30).toString("base64");
}
