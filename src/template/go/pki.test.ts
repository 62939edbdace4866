// ESO's PKCS#12, certificate chain and RSA functions, against archives and
// chains made by the openssl CLI (an independent implementation): what
// ESO's functions return for them, byte for byte where Go's output is fixed.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { constants, publicEncrypt, createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { InvalidSpecError } from "../../errors.ts";
import { renderTemplates } from "../engine.ts";

const dir = mkdtempSync(join(tmpdir(), "refsync-pki-"));
const file = (name: string) => join(dir, name);
const read = (name: string) => readFileSync(file(name), "latin1");
const openssl = (...args: string[]) =>
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

/** A CA (or leaf) signed by `issuer`, with subject and authority key identifiers. */
function issue(name: string, keyArgs: string[], issuer: string | undefined, ca: boolean): void {
  openssl("genpkey", ...keyArgs, "-out", `${name}.key`);
  writeFileSync(
    file(`${name}.ext`),
    `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}\nsubjectKeyIdentifier=hash\n` +
      (issuer ? "authorityKeyIdentifier=keyid:always\n" : ""),
  );
  openssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`);
  const signer = issuer ? ["-CA", `${issuer}.crt`, "-CAkey", `${issuer}.key`] : ["-key", `${name}.key`];
  openssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    ...signer,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  );
}

before(() => {
  issue("root", ["-algorithm", "ED25519"], undefined, true);
  issue("intermediate", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "root", true);
  issue("leaf", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], "intermediate", false);
  issue("other-root", ["-algorithm", "ED25519"], undefined, true);
  // Deliberately out of order, as ESO's own fixtures are.
  writeFileSync(file("chain.pem"), read("leaf.crt") + read("root.crt") + read("intermediate.crt"));
  const pkcs12 = (out: string, pass: string, ...extra: string[]) =>
    openssl("pkcs12", "-export", "-inkey", "leaf.key", "-out", out, "-passout", `pass:${pass}`, ...extra);
  pkcs12("nopass.pfx", "", "-in", "chain.pem");
  pkcs12("pass.pfx", "1234", "-in", "chain.pem");
  pkcs12("legacy.pfx", "1234", "-in", "chain.pem", "-legacy");
  writeFileSync(file("disjunct.pem"), read("root.crt") + read("intermediate.crt") + read("other-root.crt"));
  pkcs12("disjunct.pfx", "", "-in", "leaf.crt", "-certfile", "disjunct.pem");
});
after(() => rmSync(dir, { recursive: true, force: true }));

function render(source: string, data: Record<string, string>): string {
  const values = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "latin1")]));
  return Buffer.from(renderTemplates({ k: source }, values, "v2").k ?? new Uint8Array()).toString("latin1");
}
const fails = (source: string, data: Record<string, string>, message: RegExp) =>
  assert.throws(
    () => render(source, data),
    (e: Error) => e instanceof InvalidSpecError && message.test(e.message),
    source,
  );

void test("pkcs12key: the private key as PKCS #8 PEM, with or without a password, modern or legacy", () => {
  const pkcs8 = openssl("pkey", "-in", "leaf.key").toString("latin1");
  assert.equal(render("{{ .pfx | pkcs12key }}", { pfx: read("nopass.pfx") }), pkcs8);
  assert.equal(render('{{ .pfx | pkcs12keyPass "1234" }}', { pfx: read("pass.pfx") }), pkcs8);
  assert.equal(render('{{ .pfx | pkcs12keyPass "1234" }}', { pfx: read("legacy.pfx") }), pkcs8);
  fails('{{ .pfx | pkcs12keyPass "wrong" }}', { pfx: read("pass.pfx") }, /decryption password incorrect/);
  fails("{{ .pfx | pkcs12key }}", { pfx: "not a pfx" }, /unable to decode pkcs12 with password/);
});

void test("pkcs12cert: leaf, intermediate, root when they chain; as stored when disjunct", () => {
  const ordered = read("leaf.crt") + read("intermediate.crt") + read("root.crt");
  assert.equal(render("{{ .pfx | pkcs12cert }}", { pfx: read("nopass.pfx") }), ordered);
  assert.equal(render('{{ .pfx | pkcs12certPass "1234" }}', { pfx: read("legacy.pfx") }), ordered);
  const stored = render("{{ .pfx | pkcs12cert }}", { pfx: read("disjunct.pfx") });
  assert.equal((stored.match(/BEGIN CERTIFICATE/g) ?? []).length, 4);
  assert.ok(stored.startsWith(read("leaf.crt")));
});

void test("filterCertChain picks the leaf, the intermediates or the root of a chain in any order", () => {
  const data = { chain: read("chain.pem") };
  assert.equal(render('{{ .chain | filterCertChain "leaf" }}', data), read("leaf.crt"));
  assert.equal(render('{{ .chain | filterCertChain "intermediate" }}', data), read("intermediate.crt"));
  assert.equal(render('{{ .chain | filterCertChain "root" }}', data), read("root.crt"));
  assert.equal(render('{{ .chain | filterCertChain "other" }}', data), "");
  const leafOnly = { c: read("leaf.crt") };
  assert.equal(render('{{ .c | filterCertChain "leaf" }}', leafOnly), read("leaf.crt"));
  assert.equal(render('{{ .c | filterCertChain "intermediate" }}', leafOnly), "");
  assert.equal(render('{{ .c | filterCertChain "root" }}', leafOnly), "");
  const noRoot = { c: read("intermediate.crt") + read("leaf.crt") };
  assert.equal(render('{{ .c | filterCertChain "leaf" }}', noRoot), read("leaf.crt"));
  assert.equal(render('{{ .c | filterCertChain "intermediate" }}', noRoot), read("intermediate.crt"));
  assert.equal(render('{{ .c | filterCertChain "root" }}', noRoot), "");
  fails('{{ "" | filterCertChain "leaf" }}', {}, /no leaf certificate found/);
  // A self-signed certificate alone is a root, not a leaf.
  assert.equal(render('{{ .c | filterCertChain "leaf" }}', { c: read("root.crt") }), "");
  assert.equal(render('{{ .c | filterCertChain "root" }}', { c: read("root.crt") }), read("root.crt"));
  fails(
    '{{ .c | filterCertChain "leaf" }}',
    { c: read("disjunct.pem") },
    /found multiple leaf or disjunct certificates/,
  );
  fails('{{ .c | filterCertChain "leaf" }}', { c: read("leaf.key") }, /x509: malformed certificate/);
});

void test("rsaDecrypt: RSA-OAEP with SHA1 or SHA256, None passes the input through", () => {
  const key = read("leaf.key");
  const pub = createPublicKey(key);
  const sealed = (hash: string) =>
    publicEncrypt(
      { key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
      Buffer.from("s3cret"),
    ).toString("latin1");
  assert.equal(
    render('{{ rsaDecrypt "RSA-OAEP" "SHA256" .c .key }}', { c: sealed("sha256"), key }),
    "s3cret",
  );
  assert.equal(render('{{ .key | rsaDecrypt "RSA-OAEP" "SHA1" .c }}', { c: sealed("sha1"), key }), "s3cret");
  const pkcs1 = openssl("pkey", "-in", "leaf.key", "-traditional").toString("latin1");
  assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
  assert.equal(
    render('{{ rsaDecrypt "RSA-OAEP" "SHA256" .c .key }}', { c: sealed("sha256"), key: pkcs1 }),
    "s3cret",
  );
  assert.equal(render('{{ rsaDecrypt "None" "SHA256" "as is" .key }}', { key }), "as is");
  fails(
    '{{ rsaDecrypt "RSA-OAEP" "SHA1" .c .key }}',
    { c: sealed("sha256"), key },
    /error decrypting data with RSA/,
  );
  fails(
    '{{ rsaDecrypt "PKCS1" "SHA1" .c .key }}',
    { c: "x", key },
    /decryption scheme PKCS1 is not supported/,
  );
  fails(
    '{{ rsaDecrypt "RSA-OAEP" "SHA1" .c .key }}',
    { c: "x", key: read("intermediate.key") },
    /could not parse RSA private key/,
  );
});

void test("pemToPkcs12 and fullPemToPkcs12: an archive openssl reads, laid out as go-pkcs12's Modern", () => {
  const data = { crt: read("leaf.crt"), key: read("leaf.key"), chain: read("chain.pem") };
  const pfx = Buffer.from(render('{{ pemToPkcs12Pass .crt .key "1234" }}', data), "base64");
  writeFileSync(file("out.pfx"), pfx);
  const dump = openssl("pkcs12", "-in", "out.pfx", "-passin", "pass:1234", "-nodes").toString("latin1");
  assert.ok(dump.includes(read("leaf.crt").trim()));
  assert.equal(
    render('{{ .pfx | pkcs12keyPass "1234" }}', { pfx: pfx.toString("latin1") }),
    openssl("pkey", "-in", "leaf.key").toString("latin1"),
  );
  // -info reports the archive's layout on stderr.
  const layout = spawnSync(
    "openssl",
    ["pkcs12", "-in", "out.pfx", "-passin", "pass:1234", "-info", "-noout"],
    {
      cwd: dir,
      encoding: "latin1",
    },
  ).stderr;
  assert.match(layout, /MAC: sha256, Iteration 2048/);
  assert.match(
    layout,
    /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/,
  );
  assert.match(layout, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
  // The same inputs give the same archive (no churn at every refresh); another password another one.
  assert.equal(render('{{ pemToPkcs12Pass .crt .key "1234" }}', data), pfx.toString("base64"));
  assert.notEqual(render("{{ pemToPkcs12 .crt .key }}", data), pfx.toString("base64"));

  const full = render("{{ fullPemToPkcs12 .chain .key }}", data);
  assert.equal(
    render("{{ .pfx | b64dec | pkcs12cert }}", { pfx: full }),
    read("leaf.crt") + read("intermediate.crt") + read("root.crt"),
  );
  fails("{{ pemToPkcs12 .key .key }}", data, /x509: malformed certificate|failed to decode/);
  fails('{{ pemToPkcs12Pass .crt .key "pässword" }}', data, /printable ASCII/);
});

void test("pemTruststoreToPKCS12: a Java trust store openssl reads, each entry named by Go's subject string", () => {
  // A subject with several RDNs, an attribute Go does not name (emailAddress) and characters to escape,
  // so the friendly name shows Go's order (last RDN first, unnamed attributes last) and RFC 2253 escaping.
  openssl("genpkey", "-algorithm", "ED25519", "-out", "named.key");
  openssl(
    "req",
    "-new",
    "-x509",
    "-key",
    "named.key",
    "-subj",
    "/C=DE/O=Acme, Inc/OU=Ops/CN=#ca <1>/emailAddress=ca@example.com",
    "-days",
    "2",
    "-out",
    "named.crt",
  );
  const bundle = read("named.crt") + read("root.crt");
  const store = render('{{ pemTruststoreToPKCS12Pass .bundle "changeit" }}', { bundle });
  writeFileSync(file("trust.p12"), Buffer.from(store, "base64"));
  const dump = spawnSync(
    "openssl",
    ["pkcs12", "-in", "trust.p12", "-passin", "pass:changeit", "-info", "-nokeys"],
    { cwd: dir, encoding: "latin1" },
  );
  assert.equal(dump.status, 0, dump.stderr);
  // Both certificates, in the bundle's order.
  const certs = dump.stdout.match(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----\n/g);
  assert.deepEqual(certs, [read("named.crt"), read("root.crt")]);
  // pkix.Name.String(): CN, OU, O, C (Go's field order, reversed), then the email as OID=#DER
  // (Go puts the attributes it has no field for first in the sequence, so last in the string);
  // Go re-marshals the email string as a PrintableString unless a character is outside that set,
  // and "@" is, so a UTF8String (tag 0c). A leading "#" is escaped, and so are ",", "<" and ">".
  const email = Buffer.from("ca@example.com");
  const emailDer = Buffer.concat([Buffer.from([0x0c, email.length]), email]).toString("hex");
  assert.match(
    dump.stdout,
    new RegExp(
      `friendlyName: CN=\\\\#ca \\\\<1\\\\>,OU=Ops,O=Acme\\\\, Inc,C=DE,1\\.2\\.840\\.113549\\.1\\.9\\.1=#${emailDer}\\n`,
    ),
  );
  assert.match(dump.stdout, /friendlyName: CN=root\n/);
  // Trusted for any purpose, as go-pkcs12 marks Java trust-store entries (OpenSSL 3.0 names the
  // attribute but not its value, an OID; later versions print it).
  assert.equal(
    dump.stdout.match(
      /(2\.16\.840\.1\.113894\.746875\.1\.1: <Unsupported tag 6>|Trusted key usage \(Oracle\): Any Extended Key Usage \(2\.5\.29\.37\.0\))\n/g,
    )?.length,
    2,
  );
  assert.match(dump.stderr, /MAC: sha256, Iteration 2048/);
  assert.match(
    dump.stderr,
    /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/,
  );
  // No password: the same layout under the empty password; the same input, the same archive.
  const open = render("{{ pemTruststoreToPKCS12 .bundle }}", { bundle });
  assert.equal(render("{{ pemTruststoreToPKCS12 .bundle }}", { bundle }), open);
  writeFileSync(file("trust-open.p12"), Buffer.from(open, "base64"));
  const openDump = openssl("pkcs12", "-in", "trust-open.p12", "-passin", "pass:", "-nokeys").toString(
    "latin1",
  );
  assert.equal(openDump.match(/friendlyName: CN=root\n/g)?.length, 1);
  // A trust store has no key: pkcs12cert refuses it, as go-pkcs12's DecodeChain does in ESO.
  fails("{{ .p | b64dec | pkcs12cert }}", { p: open }, /pkcs12: private key missing/);
  fails("{{ pemTruststoreToPKCS12 .bundle }}", { bundle: read("named.key") }, /x509: malformed certificate/);
});

void test("node-forge is loaded by the first template that uses it, not by loading the engine", () => {
  // A fresh process: what this file ran before has loaded it already.
  const script = `
import { createRequire } from "node:module";
import { renderTemplates } from ${JSON.stringify(join(import.meta.dirname, "..", "engine.ts"))};
const { cache } = createRequire(import.meta.url);
const loaded = () => Object.keys(cache).some((f) => f.includes("/node_modules/node-forge/"));
const seen = [loaded()];
renderTemplates({ k: '{{ "a" | upper }}' }, {}, "v2");
seen.push(loaded());
try { renderTemplates({ k: '{{ "not an archive" | pkcs12cert }}' }, {}, "v2"); } catch {}
seen.push(loaded());
console.log(JSON.stringify(seen));`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(result.stdout.trim(), "[false,false,true]", result.stderr);
});
