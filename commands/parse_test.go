package commands

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "claim 42", want: []string{"claim", "42"}},
		{in: "  note   42  hello   world ", want: []string{"note", "42", "hello", "world"}},
		{in: `note 42 "it is \"bad\""`, want: []string{"note", "42", `it is "bad"`}},
		{in: `note 42 'single "quoted"'`, want: []string{"note", "42", `single "quoted"`}},
		{in: `note 42 ""`, want: []string{"note", "42", ""}},
		{in: `note 42 a"b c"d`, want: []string{"note", "42", "ab cd"}},
		{in: `note 42 "back\\slash"`, want: []string{"note", "42", `back\slash`}},
		{in: "", want: nil},
		{in: `note "open`, err: true},
	} {
		got, err := Split(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("Split(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		line     string
		prefixes []string
		want     string
		ok       bool
	}{
		{"/sec claim 42", []string{"/sec"}, "claim 42", true},
		{"/SEC claim 42", []string{"/sec"}, "claim 42", true},
		{"/security claim 42", []string{"/sec"}, "", false},
		{"!claim 42", []string{"!"}, "claim 42", true},
		{"! claim 42", []string{"!"}, "claim 42", true},
		{"claim 42", []string{"!"}, "", false},
		{"claim 42", []string{""}, "claim 42", true},
		{"sectriage: claim 42", []string{"sectriage: ", "!"}, "claim 42", true},
	} {
		got, ok := Normalize(tc.line, tc.prefixes...)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", tc.line, tc.prefixes, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for _, tc := range []struct {
		in    string
		level string
		score float64
		err   bool
	}{
		{in: "HIGH", level: "high"},
		{in: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", level: "critical", score: 9.8},
		{in: "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", level: "low", score: 1.8},
		{in: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", level: "critical", score: 9.3},
		{in: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", err: true}, // A missing
		{in: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H", err: true},
		{in: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", err: true},
		{in: "9.8", err: true},
	} {
		got, err := ParseSeverity(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseSeverity(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && (string(got.Level) != tc.level || got.Score != tc.score) {
			t.Errorf("ParseSeverity(%q) = %+v, want %s %.1f", tc.in, got, tc.level, tc.score)
		}
	}
}
