// Sprig's merge, mergeOverwrite and their must… forms as dario.cat/mergo
// v1.0.2 merges maps of interface{}. Each expected output is worked out from
// mergo's rules (see merge.ts) in the comment beside it.
import { test } from "node:test";
import { casesV2, failsV2 } from "../../../test/template/go-render.ts";

const D = `{{ $d := dict "a" "" "b" 0 "c" "keep" "n" (dict "x" 1) }}`;
const S = `(dict "a" "A" "b" 2 "c" "new" "z" "Z" "n" (dict "x" 9 "y" 8))`;

void test("merge fills missing and empty keys; mergeOverwrite sets every key", () => {
  casesV2([
    // "" and 0 are empty: filled; "keep" is not; "z" is missing; the maps under "n" merge key by key.
    [`${D}{{ merge $d ${S} | toJson }}`, '{"a":"A","b":2,"c":"keep","n":{"x":1,"y":8},"z":"Z"}'],
    [`${D}{{ mergeOverwrite $d ${S} | toJson }}`, '{"a":"A","b":2,"c":"new","n":{"x":9,"y":8},"z":"Z"}'],
    [`${D}{{ mustMerge $d ${S} | toJson }}`, '{"a":"A","b":2,"c":"keep","n":{"x":1,"y":8},"z":"Z"}'],
    // false is empty too; a map does not replace a string that is not empty (unless overwriting).
    ['{{ merge (dict "f" false) (dict "f" true) | toJson }}', '{"f":true}'],
    ['{{ merge (dict "n" "s") (dict "n" (dict "x" 1)) | toJson }}', '{"n":"s"}'],
    ['{{ mustMergeOverwrite (dict "n" "s") (dict "n" (dict "x" 1)) | toJson }}', '{"n":{"x":1}}'],
    // nil is set only when overwriting, so merge leaves the key out.
    ['{{ merge (dict "a" "x") (dict "a" nil) | toJson }}', '{"a":"x"}'],
    ['{{ merge (dict) (dict "a" nil) | toJson }}', "{}"],
    ['{{ mergeOverwrite (dict "a" "x") (dict "a" nil) | toJson }}', '{"a":null}'],
    // lists replace, never append: merge only into a missing or empty list.
    ['{{ merge (dict "l" (list 1)) (dict "l" (list 2 3)) | toJson }}', '{"l":[1]}'],
    ['{{ merge (dict "l" list) (dict "l" (list 2 3)) | toJson }}', '{"l":[2,3]}'],
    ['{{ mergeOverwrite (dict "l" (list 1)) (dict "l" (list 2 3)) | toJson }}', '{"l":[2,3]}'],
    // sources in turn: with merge the first to fill a key wins, with mergeOverwrite the last.
    ['{{ merge (dict) (dict "a" 1) (dict "a" 2) | toJson }}', '{"a":1}'],
    ['{{ mergeOverwrite (dict) (dict "a" 1) (dict "a" 2) | toJson }}', '{"a":2}'],
  ]);
});

void test("the destination is changed in place and maps taken from a source are shared", () => {
  casesV2([
    ['{{ $d := dict "a" 1 }}{{ $_ := merge $d (dict "b" 2) }}{{ $d | toJson }}', '{"a":1,"b":2}'],
    // $d.n is $s.n itself, so setting a key in one shows in the other.
    [
      '{{ $s := dict "n" (dict "x" 1) }}{{ $d := merge (dict) $s }}{{ $_ := set $d.n "y" 2 }}{{ $s | toJson }}',
      '{"n":{"x":1,"y":2}}',
    ],
  ]);
});

void test("mergo's type error: merge returns an empty string, mustMerge fails", () => {
  // a map meeting a version (a pointer) without overwrite: "src and dst must be of same type".
  casesV2([['{{ merge (dict "v" (semver "1.0.0")) (dict "v" (dict "x" 1)) | toJson }}', '""']]);
  failsV2(
    '{{ mustMerge (dict "v" (semver "1.0.0")) (dict "v" (dict)) }}',
    /src and dst must be of same type/,
    {},
    "no secret",
  );
  // mergo would copy one version into the other through the pointer: refused.
  failsV2(
    '{{ mergeOverwrite (dict "v" (semver "1.0.0")) (dict "v" (semver "2.0.0")) }}',
    /two semver values under one key are not supported/,
    {},
    "no secret",
  );
});
