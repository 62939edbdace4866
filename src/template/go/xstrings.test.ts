// Sprig's snakecase, kebabcase and camelcase as huandu/xstrings v1.5.0 splits
// and joins words. Each expected output is worked out from the library's
// rules (see xstrings.ts) in the comment beside it.
import { test } from "node:test";
import { casesV2 } from "../../../test/template/go-render.ts";

void test("snakecase and kebabcase: words split at case, digits, connectors and punctuation", () => {
  casesV2([
    // "user" + "ID" (a run of capitals ends before a digit) + "2" with lower-case letters after it.
    ['{{ snakecase "userID2fa" }}', "user_id_2fa"],
    ['{{ kebabcase "userID2fa" }}', "user-id-2fa"],
    // the last capital of a run starts the next word when a letter follows it.
    ['{{ snakecase "HTTPStatusCode" }}', "http_status_code"],
    // digits not followed by lower-case letters stay with the word before them.
    ['{{ snakecase "v1Beta" }}|{{ snakecase "Room7Key" }}', "v1_beta|room7_key"],
    // a capital run, then digits followed by lower-case letters: a word of their own.
    ['{{ snakecase "SHA256sum" }}', "sha_256sum"],
    // a string starting with digits keeps the letters after them.
    ['{{ snakecase "2fa" }}', "2fa"],
    // each connector rune becomes the connector (runs are not collapsed).
    ['{{ kebabcase "a__b c" }}|{{ snakecase "a--b c" }}', "a--b-c|a__b_c"],
    // punctuation is a word that takes no connector on either side.
    ['{{ snakecase "foo.barBaz" }}', "foo.bar_baz"],
    // any Unicode capital: "Été" and "Chaud" are two words.
    ['{{ snakecase "ÉtéChaud" }}', "été_chaud"],
    ['{{ snakecase "" }}|{{ kebabcase "x" }}', "|x"],
  ]);
});

void test("camelcase is xstrings' ToPascalCase", () => {
  casesV2([
    // connectors dropped, the rune after each upper-cased.
    ['{{ camelcase "user-name id" }}', "UserNameId"],
    // capitals after a word's first capital are lowered, so acronyms lose their case.
    ['{{ camelcase "API_KEY" }}|{{ camelcase "HTTPServer" }}', "ApiKey|Httpserver"],
    // an inner capital after a lower-case letter stays.
    ['{{ camelcase "myVar" }}', "MyVar"],
    // leading connectors are kept; of an inner run all but the last are kept.
    ['{{ camelcase "__x" }}|{{ camelcase "a__b" }}', "__X|A_B"],
    // a string of connectors only gets its last one written twice (as xstrings does).
    ['{{ camelcase "_" }}|{{ camelcase "" }}', "__|"],
  ]);
});
