// TLS for the Azure test server, made with the openssl CLI: a throwaway CA and
// a serving certificate for localhost, 127.0.0.1 and every *.vault.localhost
// vault; RSA client certificates for service principals (Entra ID signs
// client assertions with RS256/PS256) and for Key Vault certificate objects.
//
// The Azure SDK sends bearer tokens over HTTPS only, and checks that a vault's
// host is under the challenge's resource domain, so vaults are served at
// https://<name>.vault.localhost:<port>. `*.localhost` is loopback (RFC 6761),
// which glibc does not implement: useLoopbackDns() does, for this process.
import { execFile } from "node:child_process";
import dns from "node:dns";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`);
  }
}

export interface Pki {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** A new RSA certificate signed by the CA: `pem` holds the certificate and its key (as ESO's clientCertificate). */
  issue(commonName: string): Promise<{ certPem: string; keyPem: string; pem: string; der: Buffer }>;
  close(): Promise<void>;
}

export async function createPki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), "refsync-azure-pki-"));
  const p = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-days",
    "2",
    "-subj",
    "/CN=refsync-azure-test-ca",
  ]);
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("tls.key"),
    "-out",
    p("tls.crt"),
    "-days",
    "2",
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,DNS:*.vault.localhost,DNS:vault.localhost,IP:127.0.0.1",
  ]);
  let serial = 0;
  return {
    caPem: await readFile(p("ca.crt"), "utf8"),
    certPem: await readFile(p("tls.crt"), "utf8"),
    keyPem: await readFile(p("tls.key"), "utf8"),
    async issue(commonName) {
      const n = ++serial;
      await openssl([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        p(`c${n}.key`),
        "-out",
        p(`c${n}.crt`),
        "-days",
        "2",
        "-CA",
        p("ca.crt"),
        "-CAkey",
        p("ca.key"),
        "-subj",
        `/CN=${commonName}`,
      ]);
      await openssl(["x509", "-in", p(`c${n}.crt`), "-outform", "DER", "-out", p(`c${n}.der`)]);
      const certPem = await readFile(p(`c${n}.crt`), "utf8");
      const keyPem = await readFile(p(`c${n}.key`), "utf8");
      return { certPem, keyPem, pem: certPem + keyPem, der: await readFile(p(`c${n}.der`)) };
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Trusts `caPem` for every TLS client of this process, besides the default roots. */
export function trustCa(caPem: string): void {
  tls.setDefaultCACertificates([...tls.getCACertificates("default"), caPem]);
}

let patched = false;
/** Resolves `*.localhost` to loopback in this process, as RFC 6761 has it. */
export function useLoopbackDns(): void {
  if (patched) return;
  patched = true;
  const lookup = dns.lookup.bind(dns);
  const loopback = ((hostname: string, ...rest: unknown[]) => {
    const host = hostname.toLowerCase().endsWith(".localhost") ? "localhost" : hostname;
    return (lookup as (h: string, ...r: unknown[]) => void)(host, ...rest);
  }) as typeof dns.lookup;
  dns.lookup = loopback;
}
