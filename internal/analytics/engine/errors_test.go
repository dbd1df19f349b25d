package engine

import (
	"errors"
	"strings"
	"testing"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

var errInputs = []Stream{{Name: "SOURCE_SQL_STREAM_001", Columns: []Column{
	{"TICKER", "VARCHAR(4)"}, {"PRICE", "DOUBLE"}, {"QTY", "INTEGER"}, {"EVENT_TIME", "TIMESTAMP"}}}}

var errTables = []Table{{Name: "REF", Columns: []Column{{"TICKER", "VARCHAR(4)"}, {"NAME", "VARCHAR(20)"}}}}

const dest = "CREATE STREAM d (a VARCHAR(4), b DOUBLE);\n"

// TestCompileErrors: invalid code is refused with the line and column of
// the offending construct: syntax errors as *kdasql.Error, semantic ones as
// *Error.
func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, code string
		line, col  int
		syntax     bool
		msg        string
	}{
		{"syntax", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FORM SOURCE_SQL_STREAM_001;", 2, 65, true, "SOURCE_SQL_STREAM_001"},
		{"unknown stream", dest + "CREATE PUMP p AS INSERT INTO d\nSELECT STREAM ticker, price FROM nosuch;", 3, 34, false, "NOSUCH not found"},
		{"unknown target", "CREATE PUMP p AS INSERT INTO nosuch SELECT STREAM ticker FROM SOURCE_SQL_STREAM_001;", 1, 30, false, "not found"},
		{"unknown column", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, prize FROM SOURCE_SQL_STREAM_001;", 2, 54, false, "PRIZE not found"},
		{"quoted column is case-sensitive", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM \"ticker\", price FROM SOURCE_SQL_STREAM_001;", 2, 46, false, "ticker not found"},
		{"arity", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker FROM SOURCE_SQL_STREAM_001;", 2, 32, false, "2 target columns but the query produces 1"},
		{"type mismatch", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM price, ticker FROM SOURCE_SQL_STREAM_001;", 2, 46, false, "cannot assign DOUBLE to column A"},
		{"comparison type", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 WHERE price = 'x';", 2, 93, false, "cannot compare"},
		{"group by without monotonic key", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, MAX(price) FROM SOURCE_SQL_STREAM_001 GROUP BY ticker;", 2, 101, false, "monotonic"},
		{"group by event time only", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, MAX(price) FROM SOURCE_SQL_STREAM_001\nGROUP BY ticker, FLOOR(event_time TO MINUTE);", 3, 10, false, "monotonic"},
		{"not grouped", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 GROUP BY ticker, STEP(ROWTIME BY INTERVAL '1' MINUTE);", 2, 54, false, "not being grouped"},
		{"aggregate without window", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) FROM SOURCE_SQL_STREAM_001;", 2, 54, false, "needs OVER"},
		{"count distinct", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, COUNT(DISTINCT price) FROM SOURCE_SQL_STREAM_001 GROUP BY ticker, STEP(ROWTIME BY INTERVAL '1' MINUTE);", 2, 54, false, "DISTINCT"},
		{"order by in window", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) OVER (ORDER BY price ROWS 2 PRECEDING) FROM SOURCE_SQL_STREAM_001;", 2, 80, false, "ORDER BY"},
		{"zero preceding", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) OVER (ROWS 0 PRECEDING) FROM SOURCE_SQL_STREAM_001;", 2, 76, false, "0 PRECEDING"},
		{"following", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) OVER (ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING) FROM SOURCE_SQL_STREAM_001;", 2, 100, false, "CURRENT ROW"},
		{"unknown window", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) OVER w FROM SOURCE_SQL_STREAM_001;", 2, 70, false, "window W not found"},
		{"stream join without window", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM a.ticker, b.price FROM SOURCE_SQL_STREAM_001 a JOIN SOURCE_SQL_STREAM_001 b ON a.ticker = b.ticker;", 2, 69, false, "needs a window"},
		{"partition in join window", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM a.ticker, b.price FROM SOURCE_SQL_STREAM_001 a JOIN SOURCE_SQL_STREAM_001 OVER (PARTITION BY ticker RANGE INTERVAL '1' MINUTE PRECEDING) b ON a.ticker = b.ticker;", 2, 139, false, "PARTITION BY"},
		{"table alone", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, 1.0 FROM ref;", 2, 63, false, "reference table"},
		{"insert into input", "CREATE PUMP p AS INSERT INTO SOURCE_SQL_STREAM_001 SELECT STREAM * FROM SOURCE_SQL_STREAM_001;", 1, 30, false, "input stream"},
		{"duplicate stream", dest + "CREATE STREAM d (x INTEGER);", 2, 15, false, "already exists"},
		{"unknown function", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, NOSUCH(price) FROM SOURCE_SQL_STREAM_001;", 2, 54, false, "NOSUCH not found"},
		{"stagger range", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) FROM SOURCE_SQL_STREAM_001 WINDOWED BY STAGGER (PARTITION BY ticker RANGE 5);", 2, 139, false, "INTERVAL"},
		{"recursive function", "CREATE FUNCTION f(x INTEGER) RETURNS INTEGER RETURN f(x) + 1;\nCREATE STREAM o (a INTEGER);\nCREATE PUMP p AS INSERT INTO o SELECT STREAM f(qty) FROM SOURCE_SQL_STREAM_001;", 1, 53, false, "calls itself"},
		{"order by not monotonic", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 ORDER BY price;", 2, 96, false, "monotonic leading key"},
		{"t-sort key", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 ORDER BY price WITHIN INTERVAL '1' MINUTE;", 2, 96, false, "T-sort orders by a TIMESTAMP"},
		{"unsupported table function", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM * FROM TABLE(GROUP_RANK(CURSOR(SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001)));", 2, 59, false, "not supported yet"},
		{"rcf trees", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 1001));", 2, 149, false, "numberOfTrees of RANDOM_CUT_FOREST must be an integer from 1 to 1000"},
		{"rcf sample", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 9));", 2, 154, false, "subSampleSize of RANDOM_CUT_FOREST must be an integer from 10 to 1000"},
		{"rcf decay below sample", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 256, 200));", 2, 159, false, "must be less than timeDecay"},
		{"rcf shingle", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 256, 100000, 31));", 2, 167, false, "shingleSize of RANDOM_CUT_FOREST must be an integer from 1 to 30"},
		{"rcf too many arguments", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 256, 100000, 1, true));", 2, 79, false, "RANDOM_CUT_FOREST takes"},
		{"rcf directionality", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 256, 100000, 1, 2));", 2, 187, false, "withDirectionality"},
		{"rcf no numeric column", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM ticker FROM SOURCE_SQL_STREAM_001)));", 2, 97, false, "at least one numeric column"},
		{"hotspots window", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 99, 0.5, 3));", 2, 132, false, "windowSize of HOTSPOTS must be an integer from 100 to 1000"},
		{"hotspots radius", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 0, 3));", 2, 137, false, "scanRadius of HOTSPOTS must be a number greater than 0"},
		{"hotspots minimum points", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 0.5, 101));", 2, 142, false, "minimumNumberOfPointsInAHotspot of HOTSPOTS must be an integer from 2 to windowSize (100)"},
		{"hotspots arity", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100));", 2, 71, false, "HOTSPOTS takes"},
		{"count distinct window", "CREATE STREAM c (n BIGINT);\nCREATE PUMP p AS INSERT INTO c SELECT STREAM * FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER', 3601));", 2, 151, false, "windowSize of COUNT_DISTINCT_ITEMS_TUMBLING must be from 1 to 3600"},
		{"count distinct column", "CREATE STREAM c (n BIGINT);\nCREATE PUMP p AS INSERT INTO c SELECT STREAM * FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'ticker', 60));", 2, 141, false, "column 'ticker' not found"},
		{"function argument type", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM UPPER(price), price FROM SOURCE_SQL_STREAM_001;", 2, 52, false, "argument 1 of UPPER must be a character string"},
		{"lookaround", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 WHERE REGEX_LOG_PARSE(ticker, '(?=a)b') IS NULL;", 2, 93, false, "lookaround"},
		{"w3c iis", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 WHERE W3C_LOG_PARSE(ticker, 'IIS') IS NULL;", 2, 93, false, "IIS is not supported"},
		{"fixed column description", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 WHERE FIXED_COLUMN_LOG_PARSE(ticker, 'a VARCHAR(2) START 0') IS NULL;", 2, 93, false, "bad column description"},
		{"bad type", "CREATE STREAM d (a VARCHARR(4));", 1, 20, true, "VARCHARR"},
		{"rowtime alias type", dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM price AS ROWTIME, ticker, price FROM SOURCE_SQL_STREAM_001;", 2, 46, false, "TIMESTAMP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.code, errInputs, errTables)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			var se *kdasql.Error
			var ee *Error
			var line, col int
			switch {
			case errors.As(err, &se):
				if !tc.syntax {
					t.Fatalf("syntax error %v, want a semantic one", err)
				}
				line, col = se.Line, se.Column
			case errors.As(err, &ee):
				if tc.syntax {
					t.Fatalf("semantic error %v, want a syntax one", err)
				}
				line, col = ee.Line, ee.Column
			default:
				t.Fatalf("error %T %v has no position", err, err)
			}
			if line != tc.line || col != tc.col || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %d:%d %q, want %d:%d containing %q", line, col, err, tc.line, tc.col, tc.msg)
			}
		})
	}
}

// FuzzCompile: Compile never panics, whatever the code; when it succeeds,
// the program runs a few rows without panicking.
func FuzzCompile(f *testing.F) {
	seeds := []string{
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 WHERE qty > 1;",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, AVG(price) OVER (PARTITION BY ticker RANGE INTERVAL '1' MINUTE PRECEDING) FROM SOURCE_SQL_STREAM_001;",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) FROM SOURCE_SQL_STREAM_001 GROUP BY ticker, STEP(ROWTIME BY INTERVAL '10' SECOND);",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, SUM(price) FROM SOURCE_SQL_STREAM_001 WINDOWED BY STAGGER (PARTITION BY ticker RANGE INTERVAL '1' MINUTE);",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM s.ticker, CAST(qty AS DOUBLE) / 0 FROM SOURCE_SQL_STREAM_001 s LEFT JOIN ref ON s.ticker = ref.ticker;",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM a.ticker, b.price FROM SOURCE_SQL_STREAM_001 a JOIN SOURCE_SQL_STREAM_001 OVER (RANGE INTERVAL '1' MINUTE PRECEDING) b ON a.ticker = b.ticker;",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM SUBSTRING(ticker FROM 2), LAG(price, 2) OVER (ROWS 3 PRECEDING) FROM SOURCE_SQL_STREAM_001 WHERE ticker SIMILAR TO '(A|B)%';",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 ORDER BY FLOOR(ROWTIME TO SECOND), price DESC;",
		dest + "CREATE PUMP p AS INSERT INTO d SELECT STREAM event_time AS ROWTIME, ticker, price FROM SOURCE_SQL_STREAM_001 ORDER BY event_time WITHIN INTERVAL '5' SECOND;",
		"CREATE STREAM t (t VARCHAR(4), n BIGINT); CREATE PUMP p AS INSERT INTO t SELECT STREAM * FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER', 3, 10));",
		"CREATE STREAM h (t VARCHAR(4), r VARCHAR(1000)); CREATE PUMP p AS INSERT INTO h SELECT STREAM ticker, hotspots_result FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 1.0, 2));",
		"CREATE STREAM c (n BIGINT); CREATE PUMP p AS INSERT INTO c SELECT STREAM * FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 'TICKER', 10));",
		"CREATE STREAM r (t VARCHAR(4), s DOUBLE, e VARCHAR(512)); CREATE PUMP p AS INSERT INTO r SELECT STREAM ticker, anomaly_score, anomaly_explanation FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 2, 10, 20, 2, true));",
		"CREATE STREAM r (t VARCHAR(4), s DOUBLE) ; CREATE PUMP p AS INSERT INTO r SELECT STREAM ticker, anomaly_score FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM ticker, price, qty FROM SOURCE_SQL_STREAM_001)));",
		"CREATE STREAM o (a VARCHAR(8)); CREATE PUMP p AS INSERT INTO o SELECT STREAM t.r.COLUMN1 FROM (SELECT STREAM REGEX_LOG_PARSE(ticker, '(.)(.)') AS r FROM SOURCE_SQL_STREAM_001) AS t;",
		"CREATE FUNCTION f(x INTEGER) RETURNS INTEGER RETURN f(x); CREATE STREAM o (a INTEGER); CREATE PUMP p AS INSERT INTO o SELECT STREAM STEP(qty BY 3) FROM SOURCE_SQL_STREAM_001;",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		p, err := Compile(code, errInputs, errTables)
		if err != nil {
			return
		}
		in := p.Start(base, func(string, Row) {})
		for i := 0; i < 3; i++ {
			in.Insert("SOURCE_SQL_STREAM_001", Row{Rowtime: base.Add(time30s * durationOf(i)), Values: []any{"AB", 1.5, int64(i), base}})
		}
		in.Advance(base.Add(24 * time30s * 120))
	})
}
