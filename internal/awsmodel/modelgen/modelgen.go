// Package modelgen owns generating Rheos's AWS service models: it finds
// botocore's published models (service-2.json) in the machine's Python,
// converts each listed Target into an awsmodel.Service (the operations
// kept, every shape their inputs, outputs and errors reach, members in
// model order, constraints and wire traits) and renders it as a gofmt-ed Go
// file with a value literal. cmd ./gen writes the files; the awsmodel tests
// regenerate them in memory to prove the checked-in files did not drift.
//
// Conversion is strict: a trait of a kept shape, member or operation that
// the package does not know fails generation rather than being dropped, so
// a newer botocore that adds meaning cannot slip past unseen. Traits that
// carry no meaning for a server (documentation, SDK endpoint parameters,
// boxing) are listed and ignored. The package never runs at serve time.
package modelgen

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrNoBotocore is returned by FindBotocore when python3 or its botocore
// package is not installed.
var ErrNoBotocore = errors.New("modelgen: python3 with botocore is not installed")

// FindBotocore returns the directory of the botocore package of the
// machine's python3 (the one holding data/).
func FindBotocore() (string, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoBotocore, err)
	}
	out, err := exec.Command(py, "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		return "", fmt.Errorf("%w (%s -c 'import botocore': %v)", ErrNoBotocore, py, err)
	}
	return strings.TrimSpace(string(out)), nil
}

var versionRE = regexp.MustCompile(`(?m)^__version__\s*=\s*['"]([^'"]+)['"]`)

// Version returns the version of the botocore package in dir, read from its
// __init__.py.
func Version(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "__init__.py"))
	if err != nil {
		return "", fmt.Errorf("modelgen: botocore version: %w", err)
	}
	m := versionRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("modelgen: no __version__ in %s", filepath.Join(dir, "__init__.py"))
	}
	return string(m[1]), nil
}

// ReadModel returns the service-2.json of t in the botocore directory dir
// (uncompressed), and its path relative to dir.
func ReadModel(dir string, t Target) ([]byte, string, error) {
	base := path.Join("data", t.Service, t.Version, "service-2.json")
	if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(base))); err == nil {
		return b, base, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("modelgen: %w", err)
	}
	gz := base + ".gz"
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(gz)))
	if err != nil {
		return nil, "", fmt.Errorf("modelgen: model of %s %s: %w", t.Service, t.Version, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", fmt.Errorf("modelgen: %s: %w", gz, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, "", fmt.Errorf("modelgen: %s: %w", gz, err)
	}
	return b, gz, nil
}

// FileName is the name of the generated file in each target's directory.
const FileName = "model.go"

// Path returns the generated file of t, relative to internal/awsmodel.
func (t Target) Path() string { return path.Join(t.Package, FileName) }

// Generate converts and renders every target from the botocore directory
// dir. It returns the files by Path.
func Generate(dir string) (map[string][]byte, error) {
	version, err := Version(dir)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(Targets))
	for _, t := range Targets {
		raw, src, err := ReadModel(dir, t)
		if err != nil {
			return nil, err
		}
		svc, err := Convert(raw, t)
		if err != nil {
			return nil, err
		}
		out, err := Render(svc, t, Source{Botocore: version, File: src})
		if err != nil {
			return nil, err
		}
		files[t.Path()] = out
	}
	return files, nil
}

// FirstDiff describes the first line where a checked-in file and its
// regeneration differ, for drift reports ("" when they are equal).
func FirstDiff(checkedIn, generated []byte) string {
	if bytes.Equal(checkedIn, generated) {
		return ""
	}
	wl := strings.Split(string(checkedIn), "\n")
	gl := strings.Split(string(generated), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			return fmt.Sprintf("line %d:\n  checked in: %q\n  generated:  %q", i+1, w, g)
		}
	}
	return "the files differ"
}
