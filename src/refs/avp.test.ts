import assert from "node:assert/strict";
import { test } from "node:test";
import { avpIgnored, avpRemoveMissing, avpToReference, findAvpPlaceholders, mountConflicts } from "./avp.ts";
import { applyModifiers } from "./modifiers.ts";

const annotated = { "avp.kubernetes.io/path": "kv/data/shop" };
const keys = (s: string, annotations?: Record<string, string>) =>
  findAvpPlaceholders(s, { annotations }).map((p) => [p.key, s.slice(p.start, p.end)]);

void test("inline placeholders with key, version and modifiers", () => {
  const [p] = findAvpPlaceholders("x <path:kv/data/team-b/db#pw#4 | base64encode | indent 2> y");
  assert.deepEqual(p, {
    path: "kv/data/team-b/db",
    key: "pw",
    version: "4",
    modifiers: [{ name: "base64encode" }, { name: "indent", width: 2 }],
    generic: false,
    start: 2,
    end: 57,
  });
});

void test("AVP's patterns: spaces inside the brackets, what is and is not a placeholder", () => {
  // Spaces after < and before >, and around modifiers, as AVP reads them.
  const [spaced] = findAvpPlaceholders("<  cfg |jsonPath  {.pool.size}|  jsonParse >", {
    annotations: annotated,
  });
  assert.equal(spaced?.key, "cfg");
  assert.deepEqual(spaced?.modifiers, [
    { name: "jsonPath", expression: "{.pool.size}" },
    { name: "jsonParse" },
  ]);
  // Without the path annotation only <path:…#…> counts; anything else stays text, without an error.
  assert.deepEqual(keys("see <b>, <path:kv/data/x>"), []);
  assert.deepEqual(keys("< path:kv/data/x#k >"), []);
  // As in Go, [^#] crosses ">": AVP reads this as one placeholder.
  assert.deepEqual(keys("<path:x> and <path:y#k>"), [["k", "<path:x> and <path:y#k>"]]);
  assert.deepEqual(keys("<path:kv/data/x#k#3 | sha256sum>"), [["k", "<path:kv/data/x#k#3 | sha256sum>"]]);
  // With it every <…> on one line is a placeholder, `path:` inside one reads its own path.
  assert.deepEqual(keys("<a>-<b | base64encode>", annotated), [
    ["a", "<a>"],
    ["b", "<b | base64encode>"],
  ]);
  const [spacedInline] = findAvpPlaceholders("< path:kv/data/x#k >", { annotations: annotated });
  assert.deepEqual([spacedInline?.path, spacedInline?.key, spacedInline?.generic], ["kv/data/x", "k", false]);
  assert.deepEqual(keys("<a\nb>", annotated), []);
  // Generic placeholders take the annotated version; inline ones without a version read the latest.
  const versioned = { ...annotated, "avp.kubernetes.io/secret-version": "2" };
  assert.deepEqual(
    findAvpPlaceholders("<a> <path:kv/data/x#b>", { annotations: versioned }).map((p) => p.version),
    ["2", undefined],
  );
});

void test("annotations are Go booleans: ignore and remove-missing", () => {
  for (const yes of ["1", "t", "T", "TRUE", "true", "True"]) {
    assert.equal(avpIgnored({ "avp.kubernetes.io/ignore": yes }), true, yes);
    assert.equal(avpRemoveMissing({ "avp.kubernetes.io/remove-missing": yes }), true, yes);
    assert.deepEqual(
      findAvpPlaceholders("<path:a/data/b#c>", { annotations: { "avp.kubernetes.io/ignore": yes } }),
      [],
    );
  }
  // Like strconv.ParseBool's error in AVP: not a boolean means false.
  for (const no of ["false", "0", "yes", "on", ""])
    assert.equal(avpIgnored({ "avp.kubernetes.io/ignore": no }), false);
});

void test("malformed modifiers are errors with an offset", () => {
  assert.throws(() => findAvpPlaceholders("ab <path:a#b | rot13>"), /offset 3: invalid AVP modifier "rot13"/);
  assert.throws(() => findAvpPlaceholders("<path:a#b | indent x>"), /"indent": invalid indentation level/);
  assert.throws(() => findAvpPlaceholders("<path:a#b | indent 1 2>"), /"indent": invalid parameters/);
  assert.throws(() => findAvpPlaceholders("<path:a#b | base64encode x>"), /invalid parameters/);
  assert.throws(() => findAvpPlaceholders("<path:a#b | jsonPath {!x}>"), /unrecognized character/);
  assert.throws(() => findAvpPlaceholders("<path:a#b | >"), /empty AVP modifier/);
});

void test("a version on a KV v1 path is ignored, and a key starting with / is a key, as in AVP", () => {
  const source = { provider: "vault" as const, mounts: { secret: "vault-v1", kv: "vault-v2" } };
  const [v1, v2] = findAvpPlaceholders("<path:secret/shop#k#3> <path:kv/data/shop#k#3>");
  assert.equal(avpToReference(v1!, source, { "avp.kubernetes.io/kv-version": "1" }).ref.version, undefined);
  assert.equal(avpToReference(v1!, { ...source, kvVersion: "1" }, undefined).ref.version, undefined);
  assert.equal(avpToReference(v2!, source, undefined).ref.version, "3");
  const annotated = { "avp.kubernetes.io/path": "secret/shop", "avp.kubernetes.io/secret-version": "3" };
  const [generic] = findAvpPlaceholders("<k>", { annotations: annotated });
  const kv1 = { ...annotated, "avp.kubernetes.io/kv-version": "1" };
  assert.equal(avpToReference(generic!, source, kv1).ref.version, undefined);
  // Other backends keep versions (AWS VersionId, …).
  const [aws] = findAvpPlaceholders("<path:shop#k#v7>");
  assert.equal(avpToReference(aws!, { provider: "awssecrets" }, undefined).ref.version, "v7");
  // AVP looks "/a/b" up as a key; refsync's "/…" fragment is a JSON pointer, so it is escaped to one segment.
  const [slashed, tilde] = findAvpPlaceholders("<path:kv/data/shop#/a/b> <path:kv/data/shop#/x~y>");
  assert.equal(avpToReference(slashed!, source, undefined).ref.fragment, "/~1a~1b");
  assert.equal(avpToReference(tilde!, source, undefined).ref.fragment, "/~1x~0y");
  assert.equal(avpToReference(v2!, source, undefined).ref.fragment, "k");
  assert.equal(avpToReference(slashed!, { provider: "awssecrets" }, undefined).ref.fragment, "/~1a~1b");
});

void test("a placeholder's mount selects its store; KV v2 needs data/", () => {
  const [v1, v2] = findAvpPlaceholders("<path:secret/shop#k> <path:kv/data/shop#k>");
  const source = { provider: "vault" as const, mounts: { secret: "vault-v1", kv: "vault-v2" } };
  assert.deepEqual(avpToReference(v1!, source, { "avp.kubernetes.io/kv-version": "1" }), {
    ref: { provider: "vault", path: "shop", fragment: "k", store: "vault-v1" },
    mount: "secret",
  });
  assert.deepEqual(avpToReference(v2!, source, undefined).ref.store, "vault-v2");
  assert.throws(() => avpToReference(v1!, source, undefined), /read as KV v2, which needs "secret\/data\/…"/);
  assert.throws(
    () => avpToReference(v1!, { ...source, mounts: { kv: "x" } }, undefined),
    /mount "secret".*avp\.mounts/,
  );
  // Multi-segment mounts match on whole segments, longest first.
  const [deep] = findAvpPlaceholders("<path:team/kv/data/app#k>");
  assert.equal(
    avpToReference(deep!, { provider: "vault", mounts: { team: "t", "team/kv": "tk" } }, undefined).ref.store,
    "tk",
  );
  // Without mounts: the one store, path below the mount; other providers take the path as it is.
  assert.equal(avpToReference(v2!, { provider: "vault", store: "v" }, undefined).ref.path, "shop");
  assert.equal(avpToReference(v2!, { provider: "awssecrets" }, undefined).ref.path, "kv/data/shop");
  assert.deepEqual(
    mountConflicts(
      new Map([
        ["v", new Set(["kv", "secret"])],
        ["w", new Set(["kv"])],
      ]),
    ),
    [
      'AVP placeholders read Vault mounts kv, secret through one store "v"; map each mount to its own store in the plugin configuration\'s avp.mounts',
    ],
  );
});

void test("modifiers, with AVP's types", () => {
  assert.equal(applyModifiers("hi", [{ name: "base64encode" }]), "aGk=");
  assert.equal(applyModifiers("aGk=", [{ name: "base64decode" }]), "hi");
  assert.deepEqual(applyModifiers("/w==", [{ name: "base64decode" }]), Buffer.from([0xff]));
  assert.equal(
    applyModifiers("hi", [{ name: "sha256sum" }]),
    "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
  );
  assert.deepEqual(applyModifiers('{"a":{"b":[1,2]}}', [{ name: "jsonParse" }]), { a: { b: [1, 2] } });
  assert.deepEqual(applyModifiers("on: yes\n", [{ name: "yamlParse" }]), { true: true });
  // jsonPath prints text, as AVP's does: a number becomes "2", a map Go's JSON.
  assert.equal(applyModifiers('{"a":{"b":[1,2]}}', [{ name: "jsonPath", expression: "{.a.b[1]}" }]), "2");
  assert.equal(
    applyModifiers({ a: { z: 1, b: "<" } }, [{ name: "jsonPath", expression: "{.a}" }]),
    '{"b":"\\u003c","z":1}',
  );
  // AVP's indent: later lines trimmed and indented, empty lines dropped.
  assert.equal(applyModifiers(" l1 \n  l2\n\nl3\n", [{ name: "indent", width: 3 }]), "l1\n   l2\n   l3\n");
  assert.equal(applyModifiers("one", [{ name: "indent", width: 9 }]), "one");
});

void test("a modifier on the wrong type fails as AVP's do, naming the type and never the value", () => {
  const object = { user: "s3cret-user" };
  for (const name of ["base64encode", "base64decode", "jsonParse", "yamlParse", "sha256sum"] as const) {
    assert.throws(
      () => applyModifiers(object, [{ name }]),
      new RegExp(`^ModifierError: ${name}: invalid datatype: the value is a map, not a string$`),
    );
  }
  assert.throws(
    () => applyModifiers(5, [{ name: "indent", width: 2 }]),
    /indent: invalid datatype: the value is a number/,
  );
  assert.throws(
    () => applyModifiers("not json", [{ name: "jsonParse" }]),
    /^ModifierError: jsonParse: the value is not JSON$/,
  );
  assert.throws(
    () => applyModifiers("not json", [{ name: "jsonPath", expression: "{.a}" }]),
    /jsonPath: the value is not JSON/,
  );
  assert.throws(
    () => applyModifiers("%%%", [{ name: "base64decode" }]),
    /base64decode: the value is not valid base64/,
  );
  assert.throws(
    () => applyModifiers("{}", [{ name: "jsonPath", expression: "{.a}" }]),
    /jsonPath \{\.a\}: a is not found/,
  );
});

void test("the scans find exactly what AVP's regular expressions find", () => {
  // AVP's patterns in JavaScript's syntax (fine on short strings; the scans are linear on long ones).
  const generic = /<([^\n]*?)>/g;
  const inline = /<path:([^#]+?)#([^#]+?)(?:#([^#]+?))??>/g;
  const alphabet = ["<", ">", "#", "|", "path:", " ", "\n", "a", "b"];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 5000; i++) {
    const s = Array.from(
      { length: 1 + Math.floor(random() * 14) },
      () => alphabet[Math.floor(random() * 9)],
    ).join("");
    for (const [pattern, annotations] of [
      [generic, annotated],
      [inline, undefined],
    ] as const) {
      let found: string[];
      try {
        found = findAvpPlaceholders(s, { annotations }).map((p) => s.slice(p.start, p.end));
      } catch {
        continue; // a malformed modifier: the span was found, its text is not a placeholder
      }
      assert.deepEqual(
        found,
        [...s.matchAll(pattern)].map((m) => m[0]),
        JSON.stringify(s),
      );
    }
  }
  // CPU time, not the wall clock: a loaded machine stretches the latter, a backtracking scan the former.
  const started = process.cpuUsage();
  for (const s of ["<path:".repeat(40_000), "<path:a#".repeat(30_000), "<path:a#b#".repeat(20_000)])
    findAvpPlaceholders(s);
  const { user, system } = process.cpuUsage(started);
  assert.ok((user + system) / 1000 < 2_000, `${(user + system) / 1000} ms of CPU`);
});

void test("AVP's Azure Key Vault placeholders: the path is the vault, the key a whole secret", () => {
  const [inline, generic] = [
    ...findAvpPlaceholders("<path:my-vault#db-password#0123456789abcdef0123456789abcdef | base64encode>"),
    ...findAvpPlaceholders("<api-token>", { annotations: { "avp.kubernetes.io/path": "my-vault" } }),
  ];
  const source = { provider: "azurekv" as const, store: "kv" };
  assert.deepEqual(avpToReference(inline!, source, undefined).ref, {
    provider: "azurekv",
    path: "my-vault/db-password",
    version: "0123456789abcdef0123456789abcdef",
    store: "kv",
  });
  assert.deepEqual(avpToReference(generic!, source, { "avp.kubernetes.io/path": "my-vault" }).ref, {
    provider: "azurekv",
    path: "my-vault/api-token",
    store: "kv",
  });
});

void test("AVP's GCP placeholders: the path is a secret's resource name, the key its id, the value whole", () => {
  const source = { provider: "gcpsm" as const, store: "gcp" };
  const secretPath = { "avp.kubernetes.io/path": "projects/my-proj/secrets/db-password" };
  const [inline, versioned, generic, annotatedVersion] = [
    ...findAvpPlaceholders("<path:projects/my-proj/secrets/db-password#db-password | jsonPath {.pw}>"),
    ...findAvpPlaceholders("<path:projects/123456789/secrets/api-token# api-token #4>"),
    ...findAvpPlaceholders("<db-password | base64encode>", { annotations: secretPath }),
    ...findAvpPlaceholders("<db-password>", {
      annotations: { ...secretPath, "avp.kubernetes.io/secret-version": "latest" },
    }),
  ];
  // No fragment: AVP hands the whole payload to the modifiers.
  assert.deepEqual(avpToReference(inline!, source, undefined), {
    ref: { provider: "gcpsm", path: "projects/my-proj/secrets/db-password", store: "gcp" },
  });
  assert.deepEqual(avpToReference(versioned!, { provider: "gcpsm" }, undefined).ref, {
    provider: "gcpsm",
    path: "projects/123456789/secrets/api-token",
    version: "4",
  });
  assert.deepEqual(avpToReference(generic!, source, secretPath).ref, {
    provider: "gcpsm",
    path: "projects/my-proj/secrets/db-password",
    store: "gcp",
  });
  assert.equal(avpToReference(annotatedVersion!, source, undefined).ref.version, "latest");
  // A regional secret's name: the id is what follows the last /secrets/, as AVP's greedy pattern reads it.
  const [regional] = findAvpPlaceholders("<path:projects/p/locations/europe-west1/secrets/db#db>");
  assert.equal(
    avpToReference(regional!, source, undefined).ref.path,
    "projects/p/locations/europe-west1/secrets/db",
  );
});

void test("AVP's GCP placeholders: another key reads nothing in AVP, so it is an error; so is a path that is no secret name", () => {
  const source = { provider: "gcpsm" as const };
  const [otherKey, notAName, noProject, noId] = findAvpPlaceholders(
    "<path:projects/p/secrets/db#password> <path:team-a/db#db> <path:projects//secrets/db#db> <path:projects/p/secrets/#x>",
  );
  assert.throws(
    () => avpToReference(otherKey!, source, undefined),
    (err: Error) =>
      err.name === "InvalidReferenceError" &&
      /files secret "db" under its id only: key "password" of "projects\/p\/secrets\/db" reads nothing/.test(
        err.message,
      ),
  );
  for (const p of [notAName, noProject, noId]) {
    assert.throws(
      () => avpToReference(p!, source, undefined),
      /is not a Google Secret Manager secret name \(projects\/<project>\/secrets\/<secret>\)/,
    );
  }
  const [generic] = findAvpPlaceholders("<password>", {
    annotations: { "avp.kubernetes.io/path": "projects/p/secrets/db" },
  });
  assert.throws(() => avpToReference(generic!, source, undefined), /key "password"/);
});
