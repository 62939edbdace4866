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
