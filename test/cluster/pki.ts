// Keys and certificates of a test cluster, made with the openssl CLI: a throwaway CA,
// a serving certificate for 127.0.0.1/localhost signed by it (so clients verify TLS
// for real), a client certificate for the user "carol" (x509 authentication), and the
// key pair that signs service-account tokens.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";

const run = promisify(execFile);

export interface ClusterPki {
  caCertPath: string;
  servingCertPath: string;
  servingKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  serviceAccountKeyPath: string;
  serviceAccountPublicKeyPath: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`);
  }
}

/** The user of the client certificate, with no rights until a test binds a Role. */
export const CLIENT_CERT_USER = "carol";

export async function createPki(dir: string): Promise<ClusterPki> {
  const p = (name: string): string => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    ["req", "-x509", ...ec, "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2"].concat([
      "-subj",
      "/CN=refsync-test-ca",
    ]),
  );
  await Promise.all([
    openssl([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      p("serving.key"),
      "-out",
      p("serving.crt"),
      "-days",
      "2",
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      "-subj",
      "/CN=kube-apiserver",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ]),
    openssl([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      p("client.key"),
      "-out",
      p("client.crt"),
      "-days",
      "2",
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      "-subj",
      `/O=refsync:test-users/CN=${CLIENT_CERT_USER}`,
      "-addext",
      "extendedKeyUsage=clientAuth",
    ]),
    (async () => {
      await openssl([
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        p("sa.key"),
      ]);
      await openssl(["pkey", "-in", p("sa.key"), "-pubout", "-out", p("sa.pub")]);
    })(),
  ]);
  return {
    caCertPath: p("ca.crt"),
    servingCertPath: p("serving.crt"),
    servingKeyPath: p("serving.key"),
    clientCertPath: p("client.crt"),
    clientKeyPath: p("client.key"),
    serviceAccountKeyPath: p("sa.key"),
    serviceAccountPublicKeyPath: p("sa.pub"),
  };
}
