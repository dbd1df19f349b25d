package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGlueCatalogWithAWSCLI: the Glue Data Catalog subset Firehose's format
// conversion reads (databases and tables) through AWS CLI v2 against the
// real binary, errors included.
func TestGlueCatalogWithAWSCLI(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	run := func(args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", "http://" + p.addr, "--region", "us-east-1", "--output", "json", "glue"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("aws glue %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("create-database", "--database-input", `{"Name":"Lake","Description":"raw events"}`)
	if out, err := run("create-database", "--database-input", `{"Name":"lake"}`); err == nil || !strings.Contains(out, "AlreadyExistsException") {
		t.Errorf("duplicate database: %v\n%s", err, out)
	}
	table := `{"Name":"Clicks","StorageDescriptor":{"Columns":[{"Name":"user","Type":"string"},{"Name":"ts","Type":"timestamp"},{"Name":"n","Type":"int"}],
		"Location":"s3://lake/clicks/","InputFormat":"org.apache.hadoop.mapred.TextInputFormat"},"TableType":"EXTERNAL_TABLE","Parameters":{"classification":"json"}}`
	must("create-table", "--database-name", "lake", "--table-input", table)
	if out, err := run("create-table", "--database-name", "nope", "--table-input", table); err == nil || !strings.Contains(out, "EntityNotFoundException") {
		t.Errorf("table in a missing database: %v\n%s", err, out)
	}
	var got struct {
		Table struct {
			Name, DatabaseName, TableType string
			StorageDescriptor             struct{ Columns []struct{ Name, Type string } }
			CreateTime                    any
		}
	}
	if err := json.Unmarshal([]byte(must("get-table", "--database-name", "LAKE", "--name", "clicks")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Table.Name != "clicks" || got.Table.DatabaseName != "lake" || len(got.Table.StorageDescriptor.Columns) != 3 ||
		got.Table.StorageDescriptor.Columns[1].Type != "timestamp" || got.Table.CreateTime == nil {
		t.Errorf("get-table: %+v", got)
	}
	if out := must("get-tables", "--database-name", "lake"); !strings.Contains(out, `"clicks"`) {
		t.Errorf("get-tables: %s", out)
	}
	must("delete-table", "--database-name", "lake", "--name", "clicks")
	if out, err := run("get-table", "--database-name", "lake", "--name", "clicks"); err == nil || !strings.Contains(out, "EntityNotFoundException") {
		t.Errorf("deleted table: %v\n%s", err, out)
	}
}
