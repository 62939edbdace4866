/**
 * Real Git repositories for the src/git tests, made with the system git:
 * several branches, a secret added and later removed, a binary file and a
 * file over the scanner's size limit. Every planted secret is listed, so
 * tests can assert the scanner finds exactly these.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface TestRepo {
  dir: string;
  git(...args: string[]): string;
  write(path: string, content: string | Uint8Array): void;
  commit(message: string, date: string): string;
  remove(): void;
}

export function createRepo(prefix = "refsync-git-"): TestRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const git = (...args: string[]): string =>
    execFileSync("git", args, {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: dir },
    }).trim();
  git("init", "-q", "-b", "main");
  git("config", "user.name", "Test");
  git("config", "user.email", "test@example.com");
  git("config", "commit.gpgsign", "false");
  return {
    dir,
    git,
    write(path, content) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    },
    commit(message, date) {
      git("add", "-A");
      execFileSync("git", ["commit", "-q", "--allow-empty", "-m", message], {
        cwd: dir,
        env: { ...process.env, HOME: dir, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      });
      return git("rev-parse", "HEAD");
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Values planted in the history; none may ever appear in a report. */
export const PLANTED = {
  dbPassword: "hunter2-db-password",
  dbToken: "tok-9f8e7d6c5b4a",
  adminPassword: "s3cr3t-admin-pw",
  githubToken: "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
  awsKeyInBinary: "AKIA" + "ABCDEFGHIJKLMNOP",
  hugePassword: "huge-file-password",
  mergePassword: "resolved-in-merge-pw",
  ignoredPassword: "in-an-ignored-file",
};

export interface PlantedRepo extends TestRepo {
  commits: {
    base: string;
    addSecret: string;
    removeSecret: string;
    feature: string;
    helmValues: string;
    release: string;
    merge: string;
  };
}

const SECRET_WITH_REFS = `apiVersion: v1
kind: Secret
metadata:
  name: api
stringData:
  password: ref+vault://team-a/api#password
  url: postgres://app:ref+vault://team-a/api#password+@db:5432/app
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.example/api:1.0
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: { name: api, key: password }
            - name: LOG_LEVEL
              value: info
`;

/**
 * main:    base ─ addSecret ─ removeSecret ─ helmValues ─ mainValues ─ merge
 * feature:         └─ feature (a GitHub token in an env file)          /
 * release: └─ release ──────────────────────────────────────────────┘
 *
 * The merge resolves a conflict with content neither parent had: a password.
 */
export function createPlantedRepo(): PlantedRepo {
  const repo = createRepo();
  repo.write("apps/api/secret.yaml", SECRET_WITH_REFS);
  repo.write("apps/api/deployment.yaml", DEPLOYMENT);
  repo.write(
    "apps/api/values.yaml",
    `# Helm values\npostgresql:\n  auth:\n    existingSecret: api\n    password: ref+vault://team-a/api#password\n`,
  );
  // Binary: NUL bytes, with a credential-shaped string inside that must not be reported.
  repo.write(
    "assets/logo.png",
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), Buffer.from(PLANTED.awsKeyInBinary)]),
  );
  // Over the 2 MiB default limit: listed as skipped, never read.
  repo.write("data/huge.yaml", `password: ${PLANTED.hugePassword}\n` + "# padding\n".repeat(300_000));
  // Ignored by Git, so not reported: it is in neither the tree Git tracks nor the history.
  repo.write(".gitignore", "*.local\n");
  repo.write("deploy/.env.local", `DB_PASSWORD=${PLANTED.ignoredPassword}\n`);
  const base = repo.commit("base", "2024-01-01T00:00:00Z");

  repo.write(
    "apps/db/secret.yaml",
    `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: data
type: Opaque
stringData:
  password: ${PLANTED.dbPassword}
  username: ref+vault://team-a/db#username
data:
  token: ${Buffer.from(PLANTED.dbToken).toString("base64")}
`,
  );
  const addSecret = repo.commit("add db secret", "2024-02-01T00:00:00Z");

  repo.git("checkout", "-q", "-b", "feature");
  repo.write("deploy/ci.env", `GITHUB_TOKEN=${PLANTED.githubToken}\nLOG_LEVEL=debug\n`);
  const feature = repo.commit("ci token", "2024-02-15T00:00:00Z");
  repo.git("checkout", "-q", "main");

  repo.git("rm", "-q", "apps/db/secret.yaml");
  const removeSecret = repo.commit("remove db secret", "2024-03-01T00:00:00Z");

  repo.write(
    "charts/web/values.yaml",
    `# web chart\nauth:\n  adminUser: admin\n  adminPassword: ${PLANTED.adminPassword}\n`,
  );
  const helmValues = repo.commit("web chart", "2024-04-01T00:00:00Z");

  const values = (tag: string, extra = ""): string =>
    `# Helm values\nimage:\n  tag: "${tag}"\npostgresql:\n  auth:\n    existingSecret: api\n${extra}`;
  repo.git("checkout", "-q", "-b", "release", base);
  repo.write("apps/api/values.yaml", values("2.0-rc"));
  const release = repo.commit("release candidate", "2024-04-10T00:00:00Z");
  repo.git("checkout", "-q", "main");
  repo.write("apps/api/values.yaml", values("1.9"));
  repo.commit("bump", "2024-04-15T00:00:00Z");
  try {
    repo.git("merge", "-q", "--no-edit", "release");
  } catch {
    // The expected conflict, resolved below.
  }
  repo.write("apps/api/values.yaml", values("2.0", `    password: ${PLANTED.mergePassword}\n`));
  const merge = repo.commit("merge release", "2024-05-01T00:00:00Z");
  return Object.assign(repo, {
    commits: { base, addSecret, removeSecret, feature, helmValues, release, merge },
  });
}
