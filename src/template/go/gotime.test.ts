// Sprig's date functions in Go templates: Go's layouts, durations and zones.
// Expected outputs come from the calendar and Go's documented rules (the
// reference time Mon Jan 2 15:04:05 MST 2006, Duration.String's "1h2m3s"
// form), not from running ESO. The clock is mocked where a function reads it.
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { casesV2, failsV2 } from "../../../test/template/go-render.ts";

const SECRET = "2024-13-45 hunter2";
const cases = (list: [string, string][]) => casesV2(list, {});
const fails = (source: string, message: RegExp, data: Record<string, string> = {}): void =>
  failsV2(source, message, data, SECRET);

// 2024-02-29 (a leap day, a Thursday) 13:04:05.120 UTC.
const LEAP = '(toDate "2006-01-02T15:04:05.000Z07:00" "2024-02-29T13:04:05.120Z")';

void describe("date functions", () => {
  // 2026-12-02 05:00:00.250 UTC, a Wednesday.
  const NOW = Date.UTC(2026, 11, 2, 5, 0, 0, 250);
  beforeEach(() => mock.timers.enable({ apis: ["Date"], now: NOW }));
  afterEach(() => mock.timers.reset());

  void test("now prints as time.Time's String, in UTC (ESO's container has no local zone)", () => {
    cases([
      ["{{ now }}", "2026-12-02 05:00:00.25 +0000 UTC"],
      ['{{ now | date "2006-01-02" }}', "2026-12-02"],
      ["{{ now | unixEpoch }}", String(Math.floor(NOW / 1000))],
      ['{{ printf "%T" now }}', "time.Time"],
      ['{{ now | date "Monday" }}', "Wednesday"],
    ]);
  });

  void test("layouts: every element of Go's reference time", () => {
    cases([
      [
        `{{ ${LEAP} | date "2006 06 01 1 Jan January 02 2 _2 002 __2" }}`,
        "2024 24 02 2 Feb February 29 29 29 060  60",
      ],
      [
        `{{ ${LEAP} | date "15 3 03 4 04 5 05 PM pm Mon Monday MST" }}`,
        "13 1 01 4 04 5 05 PM pm Thu Thursday UTC",
      ],
      [`{{ ${LEAP} | date ".000 .999 ,000000 .9 .0" }}`, ".120 .12 ,120000 .1 .1"],
      [
        `{{ ${LEAP} | date "Z07:00 Z0700 Z07 -07:00 -0700 -07 -07:00:00" }}`,
        "Z Z Z +00:00 +0000 +00 +00:00:00",
      ],
      // "Janx": a lowercase letter after Jan keeps it literal; "_2006" is "_" and the year.
      [`{{ ${LEAP} | date "Janx _2006 Mon." }}`, "Janx _2024 Thu."],
      // Unix seconds as an int are accepted too (Sprig's int/int64 cases); 86400 is the second day.
      ['{{ date "2006-01-02 15:04" 86400 }}', "1970-01-02 00:00"],
      ['{{ htmlDate 0 }} {{ htmlDateInZone 0 "Asia/Tokyo" }}', "1970-01-01 1970-01-01"],
    ]);
  });

  void test("zones by IANA name, with Go's abbreviations where tzdata has letters; unknown zones are UTC", () => {
    const july = '(toDate "2006-01-02 15:04" "2024-07-01 12:00")';
    const january = '(toDate "2006-01-02 15:04" "2024-01-15 12:00")';
    cases([
      // New York is UTC-4 (EDT) in July and UTC-5 (EST) in January.
      [
        `{{ dateInZone "2006-01-02 15:04 MST -07:00" ${july} "America/New_York" }}`,
        "2024-07-01 08:00 EDT -04:00",
      ],
      [`{{ date_in_zone "15:04 MST" ${january} "America/New_York" }}`, "07:00 EST"],
      // Kolkata is UTC+5:30 all year; Tokyo UTC+9, across midnight.
      [`{{ dateInZone "2006-01-02 15:04 -0700" ${july} "Asia/Kolkata" }}`, "2024-07-01 17:30 +0530"],
      [`{{ htmlDateInZone (toDate "15:04 2006-01-02" "20:00 2024-07-01") "Asia/Tokyo" }}`, "2024-07-02"],
      // Etc/GMT+5 is five hours WEST of UTC (POSIX sign), abbreviated "-05" in tzdata.
      [`{{ dateInZone "15:04 MST" ${july} "Etc/GMT+5" }}`, "07:00 -05"],
      // Go's LoadLocation fails for these, and Sprig falls back to UTC.
      [`{{ dateInZone "15:04 MST" ${july} "Nowhere/Special" }}`, "12:00 UTC"],
      [`{{ dateInZone "15:04 MST" ${july} "america/new_york" }}`, "12:00 UTC"],
      [`{{ dateInZone "15:04 MST" ${july} "" }}`, "12:00 UTC"],
    ]);
    // ICU has offsets for every zone but letters only for some; Go would print tzdata's ("IST").
    fails(
      `{{ dateInZone "MST" ${july} "Asia/Kolkata" }}`,
      /the abbreviation of zone Asia\/Kolkata is not known here: use -0700 or Z07:00/,
    );
  });

  void test("toDate and mustToDate parse as time.ParseInLocation in UTC", () => {
    cases([
      ['{{ toDate "2006-01-02" "2024-02-29" }}', "2024-02-29 00:00:00 +0000 UTC"],
      // A numeric offset other than UTC's gives an unnamed fixed zone, printed as its offset.
      [
        '{{ toDate "2006-01-02T15:04:05Z07:00" "2024-02-29T10:11:12.5+05:30" }}',
        "2024-02-29 10:11:12.5 +0530 +0530",
      ],
      ['{{ toDate "2006-01-02T15:04:05Z07:00" "2024-02-29T10:11:12.5+05:30" | unixEpoch }}', "1709181672"],
      // An abbreviation that is not the local zone's: its name, offset 0 (GMT+n gives n hours).
      ['{{ toDate "Jan 2 2006 15:04 MST" "mar 1 2024 10:00 PST" }}', "2024-03-01 10:00:00 +0000 PST"],
      ['{{ toDate "15:04 MST" "10:00 GMT+3" }}', "0000-01-01 10:00:00 +0300 GMT+3"],
      ['{{ toDate "15:04 MST" "10:00 GMT+3" | date "2006-01-02 15:04 Z07:00" }}', "0000-01-01 07:00 Z"],
      // Missing fields: year 0, January 1; 12-hour clock; a day of the year; fractions the layout does not name.
      ['{{ toDate "3:04PM" "1:30PM" }}', "0000-01-01 13:30:00 +0000 UTC"],
      ['{{ toDate "2006 002" "2024 060" | htmlDate }}', "2024-02-29"],
      ['{{ toDate "2006-01-02 15:04:05" "2024-01-01 00:00:01.000000500" | date ".999999999" }}', ".0000005"],
      ['{{ toDate "2006-01-02" "20240229" }}', "0001-01-01 00:00:00 +0000 UTC"],
      ['{{ toDate "2006-01-02" "20240229" | toJson }}', '"0001-01-01T00:00:00Z"'],
      ['{{ (toDate "2006-01-02" "20240229").IsZero }}', "true"],
    ]);
    fails('{{ mustToDate "2006-01-02" .v }}', /parsing time as "2006-01-02": cannot parse the value as "-"/, {
      v: SECRET.replace("-", "/"),
    });
    fails('{{ mustToDate "2006-01-02" .v }}', /parsing time as "2006-01-02": month out of range/, {
      v: SECRET,
    });
    fails('{{ mustToDate "2006-01-02" "2023-02-29" }}', /day out of range/);
    fails('{{ mustToDate "2006" "2024 extra" }}', /extra text after the layout/);
  });

  void test("dateModify and mustDateModify add a Go duration", () => {
    cases([
      [`{{ ${LEAP} | dateModify "1.5h" | date "15:04:05.000" }}`, "14:34:05.120"],
      [`{{ ${LEAP} | dateModify "-1h1m1s1ms1us1ns" | date "15:04:05.999999999" }}`, "12:03:04.118998999"],
      // µs (U+00B5) and μs (U+03BC) are both microseconds; ".5" and "5." are numbers.
      [`{{ ${LEAP} | date_modify "1µs" | date ".999999" }}`, ".120001"],
      [`{{ ${LEAP} | dateModify "1μs" | date ".999999" }}`, ".120001"],
      [`{{ ${LEAP} | dateModify ".5s" | date ".999" }}`, ".62"],
      [`{{ ${LEAP} | dateModify "24h" | htmlDate }}`, "2024-03-01"],
      // Not a duration: dateModify returns the time unchanged.
      [`{{ ${LEAP} | dateModify "1d" | htmlDate }}`, "2024-02-29"],
      [`{{ ${LEAP} | must_date_modify "0" | htmlDate }}`, "2024-02-29"],
    ]);
    fails(`{{ ${LEAP} | mustDateModify "1d" }}`, /time: unknown unit in duration/);
    fails(`{{ ${LEAP} | mustDateModify "1" }}`, /time: missing unit in duration/);
    fails(`{{ ${LEAP} | mustDateModify ".s" }}`, /time: invalid duration/);
    fails(`{{ ${LEAP} | mustDateModify "9223372037s" }}`, /time: invalid duration/);
    fails('{{ dateModify "1h" .v }}', /wrong type for value; expected time.Time; got string/, { v: SECRET });
    fails('{{ dateModify "1h" "2024-01-01" }}', /can't handle "2024-01-01" for arg of type time.Time/);
  });

  void test("duration, durationRound and ago", () => {
    cases([
      // Duration.String: h, m, s with a fraction; smaller than a second in ms, µs, ns.
      [
        '{{ duration "95" }} {{ duration "3600" }} {{ duration "-61" }} {{ duration "0" }}',
        "1m35s 1h0m0s -1m1s 0s",
      ],
      ['{{ duration "x" }} {{ duration "1.5" }} {{ duration 1.5 }}', "0s 0s 0s"],
      // durationRound: the largest unit the duration exceeds (years of 365 days, months of 30).
      ['{{ durationRound "2h10m5s" }} {{ durationRound "400h" }} {{ durationRound "-9000h" }}', "2h 16d 1y"],
      ['{{ durationRound "744h" }} {{ durationRound "1s" }} {{ durationRound "bogus" }}', "1mo 0s 0s"],
      // ago: time since, rounded to the second (half away from zero). Now is 05:00:00.250.
      ['{{ ago (toDate "2006-01-02 15:04:05" "2026-12-02 03:58:59") }}', "1h1m1s"],
      ['{{ ago (toDate "2006-01-02 15:04:05.000" "2026-12-02 04:59:59.750") }}', "1s"],
      // In the future: negative; -18h59m59.75s rounds away from zero.
      ['{{ ago (toDate "2006-01-02" "2026-12-03") }}', "-19h0m0s"],
      // Unix seconds: 1796187600.25 s since the epoch, in whole hours.
      ["{{ ago 0 }}", "498941h0m0s"],
      ['{{ durationRound (toDate "2006-01-02" "2026-11-01") }}', "1mo"],
    ]);
    // A Go int (a literal, len) gives 0s in ESO and an int64 (add, int64) the duration; both are integers here.
    fails("{{ duration 95 }}", /duration of an integer is not supported .*pass a string/);
    fails("{{ durationRound 95 }}", /durationRound of an integer is not supported/);
  });
});
