/**
 * What `refsync scan` looks for. Each rule has an id (stable: allow-lists and
 * SARIF consumers key on it) and a description for reports. Detection never
 * keeps the matched text: a finding records where, not what.
 */

export interface Rule {
  id: string;
  title: string;
  description: string;
}

export const SECRET_LITERAL: Rule = {
  id: "kubernetes-secret-literal",
  title: "Kubernetes Secret with a literal value",
  description:
    "A Secret's data or stringData holds a value instead of a reference. Move it to the backend with `refsync migrate` and commit a `ref+` reference.",
};

export const PASSWORD_IN_VALUES: Rule = {
  id: "password-in-values",
  title: "Password-like key with a literal value",
  description:
    "A key named like a password, token or API key (Helm values, env entries, config) holds a literal value instead of a reference.",
};

/** A credential recognisable by its shape wherever it appears. */
export interface PatternRule extends Rule {
  pattern: RegExp;
}

// Patterns are anchored on token prefixes that are specific enough to keep false positives rare.
export const PATTERN_RULES: readonly PatternRule[] = [
  {
    id: "private-key",
    title: "Private key",
    description: "A PEM or OpenSSH private key block.",
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/,
  },
  {
    id: "aws-access-key-id",
    title: "AWS access key ID",
    description: "An AWS access key ID (AKIA…/ASIA…); its secret key is usually nearby.",
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/,
  },
  {
    id: "aws-secret-access-key",
    title: "AWS secret access key",
    description: "A 40-character AWS secret access key assigned to an aws_secret_access_key-like name.",
    pattern: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/i,
  },
  {
    id: "github-token",
    title: "GitHub token",
    description: "A GitHub personal access, OAuth, app or fine-grained token.",
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/,
  },
  {
    id: "gitlab-token",
    title: "GitLab token",
    description: "A GitLab personal access token.",
    pattern: /\bglpat-[A-Za-z0-9_-]{20,}/,
  },
  {
    id: "slack-token",
    title: "Slack token",
    description: "A Slack bot, user or app token.",
    pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/,
  },
  {
    id: "stripe-key",
    title: "Stripe live key",
    description: "A Stripe live secret or restricted key.",
    pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}/,
  },
  {
    id: "google-api-key",
    title: "Google API key",
    description: "A Google Cloud API key.",
    pattern: /\bAIza[0-9A-Za-z_-]{35}\b/,
  },
  {
    id: "jwt",
    title: "JSON Web Token",
    description: "A signed JWT (often a service-account or API token).",
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/,
  },
];

export const ALL_RULES: readonly Rule[] = [SECRET_LITERAL, PASSWORD_IN_VALUES, ...PATTERN_RULES];

/** The pattern rules that match somewhere in `text`. */
export function matchPatterns(text: string): PatternRule[] {
  return PATTERN_RULES.filter((rule) => rule.pattern.test(text));
}

// Words that make a key name credential-like when it ends with them.
const CREDENTIAL_ENDINGS = [
  ["password"],
  ["passwd"],
  ["pwd"],
  ["passphrase"],
  ["secret"],
  ["token"],
  ["api", "key"],
  ["apikey"],
  ["access", "key"],
  ["secret", "key"],
  ["private", "key"],
  ["client", "secret"],
  ["credentials"],
];
// Leading words that turn such a key into a pointer to a secret rather than a secret.
const POINTER_WORDS = new Set(["existing", "use", "enable", "enabled", "create", "generate", "auto"]);

/** Splits `adminPassword`, `ADMIN_PASSWORD`, `admin-password`, `auth.password` into lower-case words. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w.toLowerCase());
}

/** True for key names such as `password`, `adminPassword`, `DB_PASSWORD`, `apiKey`, `client_secret`. */
export function isCredentialKey(key: string): boolean {
  const words = keyWords(key);
  if (words.some((w) => POINTER_WORDS.has(w))) return false;
  return CREDENTIAL_ENDINGS.some(
    (ending) =>
      ending.length <= words.length && ending.every((w, i) => words[words.length - ending.length + i] === w),
  );
}

/**
 * True when a literal in a credential-named field is not itself a secret:
 * empty, a template expression (Helm `{{ }}`, shell `${VAR}`, Kubernetes `$(VAR)`),
 * or a file path.
 */
export function isNonSecretLiteral(value: string): boolean {
  const v = value.trim();
  return (
    v === "" ||
    /\{\{.*\}\}/s.test(v) ||
    /^\$\{[^}]+\}$/.test(v) ||
    /^\$\([^)]+\)$/.test(v) ||
    /^\/[\w./-]+$/.test(v)
  );
}
