// ESO's VaultDynamicSecret generator on a real API server: ESO's PKI snippet (POST
// pki/issue/<role>, resultType Data) and its ExternalSecret, converted, fill a Secret with a
// certificate and its key, logging in with Kubernetes auth as the ExternalSecret's namespace's
// ServiceAccount; a ClusterGenerator wrapping it does too. The certificate's lease is left to
// expire in Vault, as ESO leaves it; no generated key reaches a log, event, status or metric.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { convertEsoObject } from "../../src/api/eso.ts";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
import type { KubeObject } from "../../src/kube/client.ts";
import { generatorTypes, resourceTypes } from "../../src/kube/resources.ts";
import { PKI_ISSUE_FIELDS, type PkiEngine } from "../servers/vault/pki.ts";
import {
  applyObject,
  deleteObject,
  externalSecret,
  getSecret,
  observableTexts,
  waitFor,
  waitForCondition,
} from "../controller/harness.ts";
import { assertNoCredentials, kubernetesRole, startNamespaceSuite, useSuite } from "./setup.ts";

/** ESO's docs/snippets/generator-vault.yaml and generator-vault-example.yaml, pointed at the test Vault. */
const esoManifests = (server: string, role: string) => `
apiVersion: generators.external-secrets.io/v1alpha1
kind: VaultDynamicSecret
metadata:
  name: "pki-example"
spec:
  path: "/pki/issue/example-dot-com"
  method: "POST"
  parameters:
    common_name: "localhost"
    ip_sans: "127.0.0.1,127.0.0.11"
  resultType: "Data"
  provider:
    server: "${server}"
    auth:
      kubernetes:
        mountPath: "kubernetes"
        role: "${role}"
        serviceAccountRef:
          name: "app"
          audiences: ["vault"]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: "pki-example-com"
spec:
  refreshInterval: "768h0m0s"
  target:
    name: pki-example-com
  dataFrom:
  - sourceRef:
      generatorRef:
        apiVersion: generators.external-secrets.io/v1alpha1
        kind: VaultDynamicSecret
        name: "pki-example"
`;

void describe("VaultDynamicSecret generator (PKI issue)", () => {
  let pki: PkiEngine;
  const suite = useSuite(
    () => startNamespaceSuite("vault-gen"),
    ({ vault, ns }) => {
      pki = vault.root.mountPki("pki");
      vault.root.addPkiRole("example-dot-com", { ttl: 3600, generateLease: true });
      kubernetesRole(vault, `${ns}-pki`, ns, [
        { path: "pki/issue/example-dot-com", capabilities: ["update"] },
      ]);
    },
  );
  /** A generator through its own resource type (the harness knows refsync.dev's), anything else as usual. */
  const apply = async (object: KubeObject) => {
    const type = generatorTypes[object.kind ?? ""];
    if (type) await suite.ctl.kube.apply(type, object, { fieldManager: "test", force: true });
    else await applyObject(suite.ctl.kube, object);
  };
  /** The private keys issued into Secrets, for the leak check. */
  const keys: string[] = [];

  const issued = async (name: string) => {
    const { ctl, ns } = suite;
    await waitForCondition(ctl.kube, ns, name, "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, name), `Secret ${name}`);
    keys.push(secret.data.private_key ?? "");
    return secret.data;
  };

  void it("ESO's snippet, converted, fills the Secret with a certificate, its key and the CA", async () => {
    const { ctl, ns, vault } = suite;
    for (const doc of parseAllDocuments(esoManifests(vault.url, `${ns}-pki`))) {
      const converted = convertEsoObject(doc.toJS() as Record<string, unknown>);
      assert.ok(converted.ok, converted.ok ? "" : converted.problems.join("; "));
      const object = converted.object as unknown as KubeObject;
      object.metadata.namespace = ns;
      await apply(object);
    }
    const data = await issued("pki-example-com");
    assert.deepEqual(Object.keys(data).sort(), PKI_ISSUE_FIELDS);
    const cert = new X509Certificate(data.certificate ?? "");
    assert.equal(cert.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:127.0.0.11");
    assert.ok(cert.checkPrivateKey(createPrivateKey(data.private_key ?? "")));
    assert.equal(data.issuing_ca, pki.caPem().trim());
    assert.equal(data.ca_chain, JSON.stringify([pki.caPem().trim()]));
    assert.deepEqual(pki.issued, [data.serial_number]);
    // Issued as the namespace's ServiceAccount, with PUT as Vault's Go client writes.
    assert.equal(vault.count({ method: "PUT", path: "pki/issue/example-dot-com", status: 200 }), 1);
    assert.match(
      await ctl.controller.metrics.registry.metrics(),
      new RegExp(
        `refsync_provider_api_calls_total\\{provider="vault",store="VaultDynamicSecret/${ns}/pki-example",call="write",result="success"\\} 1`,
      ),
    );
  });

  void it("a ClusterGenerator wrapping it serves the namespace", async () => {
    const { ctl, ns, vault } = suite;
    const [generator] = parseAllDocuments(esoManifests(vault.url, `${ns}-pki`));
    const eso = generator?.toJS() as { spec: Record<string, unknown> };
    const converted = convertEsoObject({
      apiVersion: "generators.external-secrets.io/v1alpha1",
      kind: "ClusterGenerator",
      metadata: { name: `${ns}-pki` },
      spec: { kind: "VaultDynamicSecret", generator: { vaultDynamicSecretSpec: eso.spec } },
    });
    assert.ok(converted.ok, converted.ok ? "" : converted.problems.join("; "));
    await apply(converted.object as unknown as KubeObject);
    await applyObject(
      ctl.kube,
      externalSecret(ns, "cluster-pki", {
        refreshInterval: "1h",
        dataFrom: [
          {
            sourceRef: {
              generatorRef: {
                apiVersion: "generators.refsync.dev/v1alpha1",
                kind: "ClusterGenerator",
                name: `${ns}-pki`,
              },
            },
          },
        ],
      } as ExternalSecret["spec"]),
    );
    const data = await issued("cluster-pki");
    assert.equal(new X509Certificate(data.certificate ?? "").subject, "CN=localhost");
    assert.equal(pki.issued.length, 2);
  });

  void it("a denied issue: Ready=False naming the generator; the lease of an issued one is left to Vault", async () => {
    const { ctl, ns, vault } = suite;
    await apply({
      apiVersion: "generators.refsync.dev/v1alpha1",
      kind: "VaultDynamicSecret",
      metadata: { name: "other-role", namespace: ns },
      spec: {
        path: "pki/issue/other",
        method: "POST",
        parameters: { common_name: "x" },
        provider: {
          server: vault.url,
          auth: {
            kubernetes: { role: `${ns}-pki`, serviceAccountRef: { name: "app", audiences: ["vault"] } },
          },
        },
      },
    } as KubeObject);
    await applyObject(
      ctl.kube,
      externalSecret(ns, "denied", {
        refreshInterval: "1h",
        dataFrom: [{ sourceRef: { generatorRef: { kind: "VaultDynamicSecret", name: "other-role" } } }],
      } as ExternalSecret["spec"]),
    );
    const denied = await waitForCondition(ctl.kube, ns, "denied", "Ready", "False");
    const ready = denied.status?.conditions?.find((c) => c.type === "Ready");
    assert.match(ready?.message ?? "", /VaultDynamicSecret\/[\w-]+\/other-role: write pki\/issue\/other/);
    // As ESO: the lease is not tracked (no status.leases), renewed or revoked, also when the
    // ExternalSecret goes; Vault ends it at its TTL.
    const es = await ctl.kube.get<ExternalSecret>(resourceTypes.externalSecret, ns, "pki-example-com");
    assert.equal(es?.status?.leases, undefined);
    await deleteObject(ctl.kube, {
      kind: "ExternalSecret",
      metadata: { name: "pki-example-com", namespace: ns },
    });
    await waitFor(
      async () => !(await ctl.kube.get(resourceTypes.externalSecret, ns, "pki-example-com")),
      "ExternalSecret deleted",
    );
    const leases = vault.root.leases().filter((l) => l.id.startsWith("pki/issue/example-dot-com/"));
    assert.equal(leases.length, 2);
    assert.ok(leases.every((l) => l.live));
  });

  void it("no issued key, token or JWT in the log, events, statuses or metrics", async () => {
    const { ctl, ns } = suite;
    assert.equal(keys.length, 2);
    for (const [where, text] of Object.entries(await observableTexts(ctl, ns))) {
      for (const key of keys) {
        // The whole PEM, and a line of it (a message could hold a piece).
        assert.ok(!text.includes(key), `an issued key in the ${where}`);
        assert.ok(!text.includes(key.split("\n")[5] ?? key), `part of an issued key in the ${where}`);
      }
      assertNoCredentials(text, where);
    }
  });
});
