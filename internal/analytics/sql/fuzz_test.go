package kdasql

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, and for every accepted input the printed
// form parses back to the same tree and prints identically. Seeds are the
// table cases; crashers go under testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, tc := range docExamples {
		f.Add(tc.src)
	}
	for _, tc := range stmtCases {
		f.Add(tc.src)
	}
	for _, tc := range exprCases {
		f.Add("SELECT STREAM " + tc.src + " FROM s")
	}
	for _, tc := range errorCases {
		f.Add(tc.src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse(src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			return
		}
		checkRoundTrip(t, s)
	})
}

// TestFuzzCorpusReplays makes sure committed crashers are still read (go test
// runs them through FuzzParse; this only checks the directory is well formed).
func TestFuzzCorpusReplays(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		t.Skip("no crashers committed")
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("unexpected directory %s in %s", e.Name(), dir)
		}
	}
}
