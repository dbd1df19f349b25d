package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnalyticsRun: `rheos analytics run` infers the input stream's columns
// from its first row, runs a filter pump and a tumbling pump, advances to
// the end, and prints the output rows (and error_stream) as JSON lines.
func TestAnalyticsRun(t *testing.T) {
	dir := t.TempDir()
	code := `CREATE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), n BIGINT, hi DOUBLE);
CREATE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM TICKER, COUNT(*), MAX(PRICE) FROM SOURCE_SQL_STREAM_001
GROUP BY TICKER, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '1' MINUTE);
CREATE STREAM cheap (ticker VARCHAR(4), price DOUBLE, q BIGINT);
CREATE PUMP "C" AS INSERT INTO cheap SELECT STREAM TICKER, PRICE, 10 / QTY FROM SOURCE_SQL_STREAM_001 WHERE PRICE < 10;`
	input := `{"stream":"SOURCE_SQL_STREAM_001","rowtime":"2026-01-01T00:00:01Z","row":{"TICKER":"AMZN","PRICE":12.5,"QTY":2}}
{"stream":"SOURCE_SQL_STREAM_001","rowtime":"2026-01-01T00:00:02Z","row":{"TICKER":"IBM","PRICE":9,"QTY":0}}
{"stream":"SOURCE_SQL_STREAM_001","rowtime":"2026-01-01T00:00:30Z","row":{"TICKER":"AMZN","PRICE":13,"QTY":1}}
{"advance":"2026-01-01T00:01:00Z"}
{"stream":"SOURCE_SQL_STREAM_001","rowtime":"2026-01-01T00:01:10Z","row":{"TICKER":"IBM","PRICE":8.5,"QTY":5}}
`
	app := filepath.Join(dir, "app.sql")
	rows := filepath.Join(dir, "rows.json")
	os.WriteFile(app, []byte(code), 0o644)
	os.WriteFile(rows, []byte(input), 0o644)
	var out, errOut bytes.Buffer
	if code := Main([]string{"analytics", "run", "--input", rows, app}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`{"stream":"error_stream","rowtime":"2026-01-01T00:00:02Z","row":{"ERROR_TIME":"2026-01-01 00:00:02.000","ERROR_LEVEL":"ERROR","ERROR_NAME":"DivisionByZero","MESSAGE":"division by zero","DATA_ROWTIME":"2026-01-01 00:00:02.000","DATA_ROW":"5b2249424d222c392c305d","PUMP_NAME":"C"}}`,
		`{"stream":"DESTINATION_SQL_STREAM","rowtime":"2026-01-01T00:01:00Z","row":{"TICKER":"AMZN","N":2,"HI":13}}`,
		`{"stream":"DESTINATION_SQL_STREAM","rowtime":"2026-01-01T00:01:00Z","row":{"TICKER":"IBM","N":1,"HI":9}}`,
		`{"stream":"CHEAP","rowtime":"2026-01-01T00:01:10Z","row":{"TICKER":"IBM","PRICE":8.5,"Q":2}}`,
		`{"stream":"DESTINATION_SQL_STREAM","rowtime":"2026-01-01T00:02:00Z","row":{"TICKER":"IBM","N":1,"HI":8.5}}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A semantic error names the file, line and column.
	os.WriteFile(app, []byte("CREATE STREAM o (a INTEGER);\nCREATE PUMP p AS INSERT INTO o SELECT STREAM nosuch FROM SOURCE_SQL_STREAM_001;"), 0o644)
	out.Reset()
	errOut.Reset()
	if code := Main([]string{"analytics", "run", "--input", rows, app}, strings.NewReader(""), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "app.sql: At line 2, column 46: column NOSUCH not found") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	// -h prints the usage.
	out.Reset()
	if code := Main([]string{"analytics", "-h"}, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), "rheos analytics run") {
		t.Fatalf("analytics -h: exit %d, %q", code, out.String())
	}
}
