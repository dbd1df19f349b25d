package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpEverywhere: every command and subcommand answers -h and --help
// with exit code 0 (a new user's first try), and the command groups print
// their own usage lines.
func TestHelpEverywhere(t *testing.T) {
	groups := map[string]string{ // command → a line its help must show
		"":                "rheos serve",
		"kinesis":         "rheos kinesis streams create",
		"kinesis streams": "rheos kinesis streams delete",
		"streams":         "rheos kinesis streams list",
		"config":          "rheos config print",
		"functions":       "rheos functions mappings",
		"firehose":        "rheos firehose put",
	}
	leaves := []string{"serve", "config print", "kinesis streams create", "kinesis streams list", "kinesis streams describe",
		"kinesis streams delete", "kinesis put", "kinesis tail", "streams create", "put", "tail", "bench", "bench-sink", "functions list", "functions mappings",
		"firehose list", "firehose describe", "firehose put"}
	for _, flag := range []string{"-h", "--help"} {
		for cmd, want := range groups {
			var out, errOut bytes.Buffer
			args := append(strings.Fields(cmd), flag)
			if code := Main(args, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
				t.Errorf("rheos %s %s: exit %d, output %q %q", cmd, flag, code, out.String(), errOut.String())
			}
		}
		for _, cmd := range leaves {
			var out, errOut bytes.Buffer
			if code := Main(append(strings.Fields(cmd), flag), strings.NewReader(""), &out, &errOut); code != 0 {
				t.Errorf("rheos %s %s: exit %d: %s", cmd, flag, code, errOut.String())
			}
		}
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"kinesis", "nope"}, strings.NewReader(""), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "want streams, put or tail") {
		t.Errorf("unknown kinesis command: exit %d %q", code, errOut.String())
	}
}
