package publish_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sectriage/sectriage/internal/testenv"
	"github.com/sectriage/sectriage/publish"
)

// The official schemas live outside the repository, in shared/ beside the
// clone (../shared/schemas from the module root), as CI lays them out.
func schemaDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	schemas := filepath.Join(filepath.Dir(dir), "shared", "schemas")
	if _, err := os.Stat(filepath.Join(schemas, "osv", "schema.json")); err != nil {
		testenv.Unavailable(t, "the record schemas are not at %s (shared/ beside the clone)", schemas)
	}
	return schemas
}

type validators struct{ cve, cna, osv *jsonschema.Schema }

var (
	validatorsOnce sync.Once
	validatorsVal  validators
	validatorsErr  error
)

// schemaValidators compiles both schemas once. Format assertions are on
// (the library's default for draft-07, asked for in 2020-12): stricter
// than the README's python checker, and the official examples still pass.
func schemaValidators(t *testing.T) validators {
	t.Helper()
	dir := schemaDir(t)
	validatorsOnce.Do(func() {
		compile := func(file, fragment string) (*jsonschema.Schema, error) {
			f, err := os.Open(filepath.Join(dir, file))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			doc, err := jsonschema.UnmarshalJSON(f)
			if err != nil {
				return nil, err
			}
			c := jsonschema.NewCompiler()
			c.AssertFormat()
			url := "file:///schemas/" + file
			if err := c.AddResource(url, doc); err != nil {
				return nil, err
			}
			return c.Compile(url + fragment)
		}
		validatorsVal.cve, validatorsErr = compile("cve/CVE_Record_Format_bundled.json", "")
		if validatorsErr == nil {
			validatorsVal.cna, validatorsErr = compile("cve/CVE_Record_Format_bundled.json", "#/definitions/cnaPublishedContainer")
		}
		if validatorsErr == nil {
			validatorsVal.osv, validatorsErr = compile("osv/schema.json", "")
		}
	})
	if validatorsErr != nil {
		t.Fatalf("compiling the schemas: %v", validatorsErr)
	}
	return validatorsVal
}

func validate(s *jsonschema.Schema, record []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(record))
	if err != nil {
		return err
	}
	return s.Validate(doc)
}

// TestSchemasAcceptOfficialExamples shows the validator is not stricter
// than the formats: upstream's own example records pass it.
func TestSchemasAcceptOfficialExamples(t *testing.T) {
	v := schemaValidators(t)
	dir := schemaDir(t)
	for kind, s := range map[string]*jsonschema.Schema{"cve": v.cve, "osv": v.osv} {
		files, _ := filepath.Glob(filepath.Join(dir, kind, "examples", "*.json"))
		if len(files) == 0 {
			t.Fatalf("no %s examples in %s", kind, dir)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(s, b); err != nil {
				t.Errorf("official example %s: %v", filepath.Base(f), err)
			}
		}
	}
}

// TestRecordsMatchSchemas validates every record the fixtures produce.
func TestRecordsMatchSchemas(t *testing.T) {
	v := schemaValidators(t)
	cves := 0
	for _, a := range allAdvisories(t) {
		recs, err := publish.CVERecords(a, testSettings)
		if err != nil {
			t.Fatalf("%s: %v", a.ID, err)
		}
		if len(recs) != len(a.CVEs) {
			t.Errorf("%s: %d CVE records for %d CVE ids", a.ID, len(recs), len(a.CVEs))
		}
		for id, rec := range recs {
			cves++
			if err := validate(v.cve, rec); err != nil {
				t.Errorf("%s %s: %v\n%s", a.ID, id, err, rec)
			}
			if !strings.Contains(string(rec), `"cveId": "`+id+`"`) {
				t.Errorf("%s: the record of %s names another id", a.ID, id)
			}
		}
		cna, err := publish.CNAContainerJSON(a, testSettings)
		if err != nil {
			t.Fatalf("%s: %v", a.ID, err)
		}
		if err := validate(v.cna, cna); err != nil {
			t.Errorf("%s CNA container: %v\n%s", a.ID, err, cna)
		}
		for id, rec := range recs {
			var whole struct{ Containers struct{ CNA json.RawMessage } }
			if err := json.Unmarshal(rec, &whole); err != nil {
				t.Fatal(err)
			}
			var x, y any
			_ = json.Unmarshal(whole.Containers.CNA, &x)
			_ = json.Unmarshal(cna, &y)
			if !reflect.DeepEqual(x, y) {
				t.Errorf("%s: the CNA container differs from the one in the record of %s", a.ID, id)
			}
		}
		if err := validate(v.cna, []byte(`{"providerMetadata":{"orgId":"`+publish.PlaceholderOrgID+`"}}`)); err == nil {
			t.Error("the CNA container schema accepted a container without descriptions, affected and references")
		}
		osv, err := publish.OSVRecord(a, testSettings)
		if err != nil {
			t.Fatalf("%s: %v", a.ID, err)
		}
		if err := validate(v.osv, osv); err != nil {
			t.Errorf("%s OSV: %v\n%s", a.ID, err, osv)
		}
	}
	if cves != 3 {
		t.Errorf("validated %d CVE records; the fixtures have 3", cves)
	}
	// Records served by the site are the same bytes, so they are
	// validated too: walk every JSON file the site has.
	site, err := publish.Build(testSettings, testPolicy, allAdvisories(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range site.Files {
		if strings.HasSuffix(name, ".json") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) != 6 { // 3 OSV + 3 CVE
		t.Errorf("site has JSON files %v; want 3 OSV and 3 CVE records", names)
	}
	for _, name := range names {
		s := v.osv
		if strings.HasPrefix(filepath.Base(name), "CVE-") {
			s = v.cve
		}
		if err := validate(s, site.Files[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRecordShapes checks what the schema cannot: that the records say
// what the draft says, range by range.
func TestRecordShapes(t *testing.T) {
	a := complexAdvisory(t)
	recs, err := publish.CVERecords(a, testSettings)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		CVEMetadata struct{ AssignerOrgID, DatePublished, DateUpdated string }
		Containers  struct {
			CNA struct {
				Affected []struct {
					Product, Repo, PackageName string
					Versions                   []map[string]string
				}
				Metrics    []map[string]any
				Credits    []struct{ Value, Type string }
				References []struct {
					URL  string
					Tags []string
				}
			}
		}
	}
	if err := json.Unmarshal(recs["CVE-2026-10003"], &rec); err != nil {
		t.Fatal(err)
	}
	cna := rec.Containers.CNA
	if rec.CVEMetadata.AssignerOrgID != publish.PlaceholderOrgID || rec.CVEMetadata.DateUpdated != "2026-04-17T09:30:00Z" {
		t.Errorf("metadata: %+v", rec.CVEMetadata)
	}
	if len(cna.Affected) != 2 || len(cna.Affected[0].Versions) != 6 || len(cna.Affected[1].Versions) != 2 {
		t.Fatalf("affected: %+v", cna.Affected)
	}
	lib := cna.Affected[0].Versions
	want := []map[string]string{
		{"version": "1.4.0", "status": "affected", "versionType": "semver", "lessThan": "1.4.7"},
		{"version": commitA, "status": "affected", "versionType": "git", "lessThan": commitB},
		{"version": "1.5.0", "status": "affected", "versionType": "semver", "lessThan": "1.5.2"},
		{"version": "0", "status": "affected", "versionType": "git", "lessThan": commitD},
		{"version": "2.0.0-rc1", "status": "affected", "versionType": "semver", "lessThanOrEqual": "*"},
		{"version": commitC, "status": "affected", "versionType": "git", "lessThanOrEqual": "*"},
	}
	for i := range want {
		if !mapsEqual(lib[i], want[i]) {
			t.Errorf("libexample version %d = %v, want %v", i, lib[i], want[i])
		}
	}
	if cna.Affected[1].Versions[1]["versionType"] != "custom" { // "4.0" is not SemVer
		t.Errorf("example-py 4.0 range: %v", cna.Affected[1].Versions[1])
	}
	if _, ok := cna.Metrics[0]["cvssV4_0"]; !ok {
		t.Errorf("metrics: %v", cna.Metrics)
	}
	if len(cna.Credits) != 2 {
		t.Errorf("credits without consent must not be published: %+v", cna.Credits)
	}
	if cna.References[0].URL != "https://security.example.org/advisories/2026-2.html" || len(cna.References) != 4 {
		t.Errorf("references (advisory page first, the same URL once): %+v", cna.References)
	}

	osv, err := publish.OSVRecord(a, testSettings)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		ID       string
		Aliases  []string
		Affected []struct {
			Package *struct{ Ecosystem, Name string }
			Ranges  []struct {
				Type, Repo string
				Events     []map[string]string
			}
		}
		Credits []struct{ Name, Type string }
	}
	if err := json.Unmarshal(osv, &o); err != nil {
		t.Fatal(err)
	}
	if o.ID != "x_EXAMPLE-2026-2" || strings.Join(o.Aliases, ",") != "CVE-2026-10002,CVE-2026-10003" {
		t.Errorf("id %s aliases %v", o.ID, o.Aliases)
	}
	if len(o.Affected) != 2 || o.Affected[0].Package != nil || len(o.Affected[0].Ranges) != 3 ||
		o.Affected[0].Ranges[0].Type != "GIT" || o.Affected[0].Ranges[0].Repo != "https://git.example.org/libexample" {
		t.Errorf("libexample (no package) must be GIT ranges only: %+v", o.Affected)
	}
	py := o.Affected[1]
	if py.Package == nil || py.Package.Ecosystem != "PyPI" || len(py.Ranges) != 2 || py.Ranges[0].Type != "ECOSYSTEM" ||
		py.Ranges[0].Events[0]["introduced"] != "0" || py.Ranges[0].Events[1]["fixed"] != "3.2.1" {
		t.Errorf("example-py: %+v", py)
	}
	if len(o.Credits) != 2 || o.Credits[1].Type != "REMEDIATION_DEVELOPER" {
		t.Errorf("OSV credits: %+v", o.Credits)
	}

	// A product OSV cannot match (no package, no commits) is kept as text.
	c := simpleAdvisory(t)
	c.Affected[0].Ecosystem, c.Affected[0].Package = "", ""
	tarball, err := publish.OSVRecord(c, testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(schemaValidators(t).osv, tarball); err != nil {
		t.Errorf("OSV record without matchable products: %v", err)
	}
	if strings.Contains(string(tarball), `"affected"`) ||
		!strings.Contains(string(tarball), `"unmatched_products": [`) || !strings.Contains(string(tarball), `"0..v1.8.2"`) {
		t.Errorf("a tarball-only product must be listed as unmatched:\n%s", tarball)
	}

	simple, err := publish.OSVRecord(simpleAdvisory(t), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(simple), `"type": "SEMVER"`) || !strings.Contains(string(simple), `"fixed": "1.8.2"`) {
		t.Errorf("Go ranges are SEMVER without the v:\n%s", simple)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestBrokenRecordsFailValidation: the same validator rejects records
// broken in the ways a producer bug would break them.
func TestBrokenRecordsFailValidation(t *testing.T) {
	v := schemaValidators(t)
	a := complexAdvisory(t)
	recs, err := publish.CVERecords(a, testSettings)
	if err != nil {
		t.Fatal(err)
	}
	osv, err := publish.OSVRecord(a, testSettings)
	if err != nil {
		t.Fatal(err)
	}
	type breakage struct {
		name   string
		record []byte
		break_ func(m map[string]any)
		schema *jsonschema.Schema
	}
	cna := func(m map[string]any) map[string]any {
		return m["containers"].(map[string]any)["cna"].(map[string]any)
	}
	cases := []breakage{
		{"cve: no cveId", recs["CVE-2026-10002"], func(m map[string]any) {
			delete(m["cveMetadata"].(map[string]any), "cveId")
		}, v.cve},
		{"cve: malformed id", recs["CVE-2026-10002"], func(m map[string]any) {
			m["cveMetadata"].(map[string]any)["cveId"] = "CVE-26-1"
		}, v.cve},
		{"cve: bad CWE", recs["CVE-2026-10002"], func(m map[string]any) {
			pt := cna(m)["problemTypes"].([]any)[0].(map[string]any)["descriptions"].([]any)[0].(map[string]any)
			pt["cweId"] = "CWE-0079"
		}, v.cve},
		{"cve: range without versionType", recs["CVE-2026-10002"], func(m map[string]any) {
			ver := cna(m)["affected"].([]any)[0].(map[string]any)["versions"].([]any)[0].(map[string]any)
			delete(ver, "versionType")
		}, v.cve},
		{"cve: no references", recs["CVE-2026-10002"], func(m map[string]any) { delete(cna(m), "references") }, v.cve},
		{"cve: unknown field", recs["CVE-2026-10002"], func(m map[string]any) { cna(m)["severity"] = "high" }, v.cve},
		{"cve: org id not a UUID", recs["CVE-2026-10002"], func(m map[string]any) {
			cna(m)["providerMetadata"].(map[string]any)["orgId"] = "example"
		}, v.cve},
		{"osv: unregistered id prefix", osv, func(m map[string]any) { m["id"] = "EXAMPLE-2026-2" }, v.osv},
		{"osv: no modified", osv, func(m map[string]any) { delete(m, "modified") }, v.osv},
		{"osv: short commit hash", osv, func(m map[string]any) {
			r := m["affected"].([]any)[0].(map[string]any)["ranges"].([]any)[0].(map[string]any)
			r["events"].([]any)[0].(map[string]any)["introduced"] = "a1a1a1a"
		}, v.osv},
		{"osv: GIT range without repo", osv, func(m map[string]any) {
			delete(m["affected"].([]any)[0].(map[string]any)["ranges"].([]any)[0].(map[string]any), "repo")
		}, v.osv},
		{"osv: unknown ecosystem", osv, func(m map[string]any) {
			m["affected"].([]any)[1].(map[string]any)["package"].(map[string]any)["ecosystem"] = "CPAN"
		}, v.osv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := validate(c.schema, c.record); err != nil {
				t.Fatalf("the unbroken record is invalid: %v", err)
			}
			var m map[string]any
			if err := json.Unmarshal(c.record, &m); err != nil {
				t.Fatal(err)
			}
			c.break_(m)
			broken, _ := json.Marshal(m)
			if err := validate(c.schema, broken); err == nil {
				t.Errorf("the validator accepted a broken record:\n%s", broken)
			}
		})
	}
}
