package kdasql

import (
	"testing"
)

// exprCases: source expression → canonical printed form.
var exprCases = []struct{ src, want string }{
	// literals
	{"12", "12"},
	{"1.5", "1.5"},
	{".5", ".5"},
	{"1.5e10", "1.5E10"},
	{"2E-3", "2E-3"},
	{"'it''s'", "'it''s'"},
	{`u&'\00e9t\00E9'`, `U&'\00E9t\00E9'`},
	{`U&'a\\b'`, `U&'a\\b'`},
	{`u&'\+01F600'`, `U&'\+01F600'`},
	{"X'0aFF'", "X'0AFF'"},
	{"true", "TRUE"},
	{"FALSE", "FALSE"},
	{"null", "NULL"},
	{"UNKNOWN", "UNKNOWN"},
	{"DATE '2018-01-01'", "DATE '2018-01-01'"},
	{"TIME '12:00:01'", "TIME '12:00:01'"},
	{"timestamp '2018-01-01 00:00:00.000'", "TIMESTAMP '2018-01-01 00:00:00.000'"},
	{"INTERVAL '1' MINUTE", "INTERVAL '1' MINUTE"},
	{"INTERVAL '10' second", "INTERVAL '10' SECOND"},
	{"INTERVAL '1:30' HOUR TO MINUTE", "INTERVAL '1:30' HOUR TO MINUTE"},
	{"INTERVAL '2 10:20:30.5' DAY TO SECOND(3)", "INTERVAL '2 10:20:30.5' DAY TO SECOND(3)"},
	{"INTERVAL '1-6' YEAR TO MONTH", "INTERVAL '1-6' YEAR TO MONTH"},
	{"INTERVAL -'1' DAY", "INTERVAL -'1' DAY"},
	{"INTERVAL '100' HOUR(3)", "INTERVAL '100' HOUR(3)"},
	// names
	{"ticker", "TICKER"},
	{`"ticker"`, `"ticker"`},
	{`"a""b"`, `"a""b"`},
	{"s.ROWTIME", "S.ROWTIME"},
	{`"SOURCE_SQL_STREAM_001".ROWTIME`, `"SOURCE_SQL_STREAM_001".ROWTIME`},
	{"T.REC.COLUMN1", "T.REC.COLUMN1"},
	{`t.r."COL_1"`, `T.R."COL_1"`},
	{"ROWTIME", "ROWTIME"},
	// operators and precedence
	{"a + b * c", "A + B * C"},
	{"(a + b) * c", "(A + B) * C"},
	{"a - (b - c)", "A - (B - C)"},
	{"a - b - c", "A - B - C"},
	{"a / b", "A / B"},
	{"-a", "-A"},
	{"- -a", "- -A"},
	{"-(a + b)", "-(A + B)"},
	{"+1", "+1"},
	{"a || b || 'c'", "A || B || 'c'"},
	{"a || b + c", "A || B + C"},
	{"a = 1 AND b <> 2 OR c < 3", "A = 1 AND B <> 2 OR C < 3"},
	{"a = 1 AND (b = 2 OR c = 3)", "A = 1 AND (B = 2 OR C = 3)"},
	{"a != b", "A != B"},
	{"a <= b AND a >= c AND a > d", "A <= B AND A >= C AND A > D"},
	{"NOT a = b", "NOT A = B"},
	{"NOT (a OR b)", "NOT (A OR B)"},
	{"NOT a AND b", "NOT A AND B"},
	{"a IS NULL", "A IS NULL"},
	{"a IS NOT NULL", "A IS NOT NULL"},
	{"a IS TRUE", "A IS TRUE"},
	{"a IS NOT FALSE", "A IS NOT FALSE"},
	{"a IS UNKNOWN", "A IS UNKNOWN"},
	{"a BETWEEN 1 AND 10", "A BETWEEN 1 AND 10"},
	{"a NOT BETWEEN b + 1 AND c * 2 AND d", "A NOT BETWEEN B + 1 AND C * 2 AND D"},
	{"a IN (1, 2, 3)", "A IN (1, 2, 3)"},
	{"a NOT IN ('x')", "A NOT IN ('x')"},
	{"a IN (SELECT b FROM t)", "A IN (SELECT B FROM T)"},
	{"name LIKE 'A%'", "NAME LIKE 'A%'"},
	{"name NOT LIKE 'A!%%' ESCAPE '!'", "NAME NOT LIKE 'A!%%' ESCAPE '!'"},
	{"name SIMILAR TO '[a-z]+'", "NAME SIMILAR TO '[a-z]+'"},
	{"name NOT SIMILAR TO 'x' ESCAPE '\\'", "NAME NOT SIMILAR TO 'x' ESCAPE '\\'"},
	// CASE and CAST
	{"CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' ELSE 'zero' END", "CASE WHEN A > 0 THEN 'pos' WHEN A < 0 THEN 'neg' ELSE 'zero' END"},
	{"CASE ticker WHEN 'AMZN' THEN 1 END", "CASE TICKER WHEN 'AMZN' THEN 1 END"},
	{"CAST(price AS DECIMAL(10, 2))", "CAST(PRICE AS DECIMAL(10, 2))"},
	{"CAST(x AS VARCHAR(16))", "CAST(X AS VARCHAR(16))"},
	{"CAST(x AS double precision)", "CAST(X AS DOUBLE PRECISION)"},
	{"CAST(x AS CHARACTER VARYING(4))", "CAST(X AS CHARACTER VARYING(4))"},
	// function calls
	{"COUNT(*)", "COUNT(*)"},
	{"COUNT(DISTINCT ticker)", "COUNT(DISTINCT TICKER)"},
	{"SUM(ALL x)", "SUM(ALL X)"},
	{"MOD(x, 5)", "MOD(X, 5)"},
	{"UPPER(\"referrer\")", `UPPER("referrer")`},
	{"f()", "F()"},
	{`"myUdf"(a)`, `"myUdf"(A)`},
	{"AVG(price) OVER w1", "AVG(PRICE) OVER W1"},
	{"AVG(price) OVER (PARTITION BY ticker RANGE INTERVAL '1' MINUTE PRECEDING)", "AVG(PRICE) OVER (PARTITION BY TICKER RANGE INTERVAL '1' MINUTE PRECEDING)"},
	{"LAG(price, 1, 0) OVER w", "LAG(PRICE, 1, 0) OVER W"},
	{"LAG(price, 2) IGNORE NULLS OVER (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING)", "LAG(PRICE, 2) IGNORE NULLS OVER (PARTITION BY TICKER_SYMBOL RANGE INTERVAL '1' MINUTE PRECEDING)"},
	{"LAG(price) RESPECT NULLS OVER w", "LAG(PRICE) RESPECT NULLS OVER W"},
	{"SUM(x) OVER (ROWS 3 PRECEDING)", "SUM(X) OVER (ROWS 3 PRECEDING)"},
	{"SUM(x) OVER (ROWS CURRENT ROW)", "SUM(X) OVER (ROWS CURRENT ROW)"},
	{"SUM(x) OVER (RANGE CURRENT ROW)", "SUM(X) OVER (RANGE CURRENT ROW)"},
	{"SUM(x) OVER (ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)", "SUM(X) OVER (ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)"},
	{"SUM(x) OVER (RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)", "SUM(X) OVER (RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)"},
	{"SUM(x) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)", "SUM(X) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"},
	{"SUM(x) OVER (ROWS BETWEEN 0 PRECEDING AND 4 PRECEDING)", "SUM(X) OVER (ROWS BETWEEN 0 PRECEDING AND 4 PRECEDING)"},
	{"SUM(x) OVER (ROWS BETWEEN -4 PRECEDING AND CURRENT ROW)", "SUM(X) OVER (ROWS BETWEEN -4 PRECEDING AND CURRENT ROW)"},
	{"SUM(x) OVER (ORDER BY s.ROWTIME ROWS 2 PRECEDING)", "SUM(X) OVER (ORDER BY S.ROWTIME ROWS 2 PRECEDING)"},
	{"SUM(x) OVER (w ROWS 2 PRECEDING)", "SUM(X) OVER (W ROWS 2 PRECEDING)"},
	// special forms
	{"STEP(s.ROWTIME BY INTERVAL '10' SECOND)", "STEP(S.ROWTIME BY INTERVAL '10' SECOND)"},
	{"STEP(23 BY 5)", "STEP(23 BY 5)"},
	{"FLOOR(s.ROWTIME TO MINUTE)", "FLOOR(S.ROWTIME TO MINUTE)"},
	{"CEIL(ts TO HOUR)", "CEIL(TS TO HOUR)"},
	{"CEILING(ts TO DAY)", "CEILING(TS TO DAY)"},
	{"FLOOR(degrees)", "FLOOR(DEGREES)"},
	{"EXTRACT(YEAR FROM ts)", "EXTRACT(YEAR FROM TS)"},
	{"POSITION('.com' IN referrer)", "POSITION('.com' IN REFERRER)"},
	{"POSITION(a || b IN c)", "POSITION(A || B IN C)"},
	{"SUBSTRING(s FROM 2)", "SUBSTRING(S FROM 2)"},
	{"SUBSTRING(s FROM 2 FOR 3)", "SUBSTRING(S FROM 2 FOR 3)"},
	{"SUBSTRING(s, 2, 3)", "SUBSTRING(S, 2, 3)"},
	{"TRIM(s)", "TRIM(S)"},
	{"TRIM(BOTH FROM s)", "TRIM(BOTH FROM S)"},
	{"TRIM(LEADING 'x' FROM s)", "TRIM(LEADING 'x' FROM S)"},
	{"TRIM(trailing ' ' FROM s)", "TRIM(TRAILING ' ' FROM S)"},
	{"TRIM('x' FROM s)", "TRIM('x' FROM S)"},
	{"OVERLAY(s PLACING 'ab' FROM 2)", "OVERLAY(S PLACING 'ab' FROM 2)"},
	{"OVERLAY(s PLACING 'ab' FROM 2 FOR 3)", "OVERLAY(S PLACING 'ab' FROM 2 FOR 3)"},
	{"CURRENT_ROW_TIMESTAMP", "CURRENT_ROW_TIMESTAMP"},
	{"current_timestamp", "CURRENT_TIMESTAMP"},
	{"CURRENT_DATE", "CURRENT_DATE"},
	{"CURRENT_TIME", "CURRENT_TIME"},
	{"LOCALTIME", "LOCALTIME"},
	{"LOCALTIMESTAMP", "LOCALTIMESTAMP"},
	{"TSDIFF(CURRENT_ROW_TIMESTAMP, s.ROWTIME)", "TSDIFF(CURRENT_ROW_TIMESTAMP, S.ROWTIME)"},
	{"ROW(1, 'a')", "ROW(1, 'a')"},
	{"(SELECT MAX(x) FROM t)", "(SELECT MAX(X) FROM T)"},
	{"EXISTS (SELECT 1 FROM t)", "EXISTS (SELECT 1 FROM T)"},
	{"f(CURSOR(SELECT STREAM * FROM s), 'c', 5)", "F(CURSOR(SELECT STREAM * FROM S), 'c', 5)"},
	// comments inside expressions
	{"a /* one */ + -- two\n b // three\n * c", "A + B * C"},
}

func TestExprSyntax(t *testing.T) {
	for _, tc := range exprCases {
		e, err := ParseExpr(tc.src)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.src, err)
			continue
		}
		if got := Format(e); got != tc.want {
			t.Errorf("ParseExpr(%q) prints %q, want %q", tc.src, got, tc.want)
			continue
		}
		again, err := ParseExpr(tc.want)
		if err != nil {
			t.Errorf("reparse %q: %v", tc.want, err)
			continue
		}
		if !sameTree(e, again) {
			t.Errorf("%q: parse(print(ast)) differs", tc.src)
		}
	}
}

// stmtCases: source statements → canonical printed form.
var stmtCases = []struct{ src, want string }{
	{"CREATE STREAM s (a INTEGER NOT NULL, b VARCHAR(4)) DESCRIPTION 'demo'",
		"CREATE STREAM S (A INTEGER NOT NULL, B VARCHAR(4)) DESCRIPTION 'demo';\n"},
	{`CREATE OR REPLACE STREAM "s" (b BOOLEAN, t TINYINT, sm SMALLINT, i INT, i2 INTEGER, bi BIGINT,
	  d DECIMAL(19, 4), d2 DEC(5), n NUMERIC, r REAL, db DOUBLE, dp DOUBLE PRECISION, f FLOAT,
	  c CHAR(3), c2 CHARACTER(3), v VARCHAR(10), cv CHAR VARYING(10), cv2 CHARACTER VARYING(10),
	  bin BINARY(8), vb VARBINARY(8), dt DATE, tm TIME, ts TIMESTAMP)`,
		`CREATE OR REPLACE STREAM "s" (B BOOLEAN, T TINYINT, SM SMALLINT, I INT, I2 INTEGER, BI BIGINT, D DECIMAL(19, 4), D2 DEC(5), N NUMERIC, R REAL, DB DOUBLE, DP DOUBLE PRECISION, F FLOAT, C CHAR(3), C2 CHARACTER(3), V VARCHAR(10), CV CHAR VARYING(10), CV2 CHARACTER VARYING(10), BIN BINARY(8), VB VARBINARY(8), DT DATE, TM TIME, TS TIMESTAMP);` + "\n"},
	{"CREATE PUMP p AS INSERT EXPEDITED INTO out (a, b) SELECT STREAM a, b FROM s",
		"CREATE PUMP P AS INSERT EXPEDITED INTO OUT (A, B) SELECT STREAM A, B FROM S;\n"},
	{"INSERT INTO out SELECT STREAM * FROM s",
		"INSERT INTO OUT SELECT STREAM * FROM S;\n"},
	{"CREATE OR REPLACE FUNCTION f(a INTEGER, b VARCHAR(4)) RETURNS INTEGER LANGUAGE SQL DETERMINISTIC CONTAINS SQL RETURNS NULL ON NULL INPUT RETURN a + CHAR_LENGTH(b)",
		"CREATE OR REPLACE FUNCTION F(A INTEGER, B VARCHAR(4)) RETURNS INTEGER LANGUAGE SQL DETERMINISTIC CONTAINS SQL RETURNS NULL ON NULL INPUT RETURN A + CHAR_LENGTH(B);\n"},
	{"CREATE FUNCTION g() RETURNS TIMESTAMP NOT DETERMINISTIC CALLED ON NULL INPUT RETURN CURRENT_ROW_TIMESTAMP",
		"CREATE FUNCTION G() RETURNS TIMESTAMP NOT DETERMINISTIC CALLED ON NULL INPUT RETURN CURRENT_ROW_TIMESTAMP;\n"},
	{"SELECT STREAM ALL a FROM s; SELECT DISTINCT a FROM s",
		"SELECT STREAM ALL A FROM S;\nSELECT DISTINCT A FROM S;\n"},
	{"SELECT STREAM s.*, t.* FROM s, t",
		"SELECT STREAM S.*, T.* FROM S, T;\n"},
	{"SELECT STREAM a x, b AS \"y\", ts AS ROWTIME FROM s AS src",
		"SELECT STREAM A AS X, B AS \"y\", TS AS ROWTIME FROM S AS SRC;\n"},
	{"SELECT STREAM * FROM s WHERE a > 1 GROUP BY a, FLOOR(s.ROWTIME TO MINUTE) HAVING COUNT(*) > 2",
		"SELECT STREAM * FROM S WHERE A > 1 GROUP BY A, FLOOR(S.ROWTIME TO MINUTE) HAVING COUNT(*) > 2;\n"},
	{"SELECT STREAM a FROM s WHERE a > 0 WINDOWED BY STAGGER (PARTITION BY a RANGE INTERVAL '1' MINUTE) HAVING COUNT(*) > 1",
		"SELECT STREAM A FROM S WHERE A > 0 WINDOWED BY STAGGER (PARTITION BY A RANGE INTERVAL '1' MINUTE) HAVING COUNT(*) > 1;\n"},
	{"SELECT STREAM a FROM s1 UNION ALL SELECT STREAM a FROM s2 UNION ALL SELECT STREAM a FROM s3",
		"SELECT STREAM A FROM S1 UNION ALL SELECT STREAM A FROM S2 UNION ALL SELECT STREAM A FROM S3;\n"},
	{"SELECT STREAM a FROM s1 UNION ALL (SELECT STREAM a FROM s2 UNION ALL SELECT STREAM a FROM s3)",
		"SELECT STREAM A FROM S1 UNION ALL (SELECT STREAM A FROM S2 UNION ALL SELECT STREAM A FROM S3);\n"},
	{"(SELECT STREAM a FROM s1 ORDER BY s1.ROWTIME) UNION ALL SELECT STREAM a FROM s2 ORDER BY ROWTIME",
		"(SELECT STREAM A FROM S1 ORDER BY S1.ROWTIME) UNION ALL SELECT STREAM A FROM S2 ORDER BY ROWTIME;\n"},
	{"SELECT STREAM * FROM (SELECT STREAM a FROM s) AS t(x)",
		"SELECT STREAM * FROM (SELECT STREAM A FROM S) AS T (X);\n"},
	{"SELECT STREAM * FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM s), 'TICKER', 60)) AS c",
		"SELECT STREAM * FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM S), 'TICKER', 60)) AS C;\n"},
	{"SELECT STREAM * FROM a INNER JOIN b ON a.k = b.k LEFT JOIN c ON a.k = c.k RIGHT OUTER JOIN d ON TRUE FULL JOIN e USING (k) CROSS JOIN f",
		"SELECT STREAM * FROM A INNER JOIN B ON A.K = B.K LEFT JOIN C ON A.K = C.K RIGHT OUTER JOIN D ON TRUE FULL JOIN E USING (K) CROSS JOIN F;\n"},
	{"SELECT STREAM * FROM a NATURAL JOIN b",
		"SELECT STREAM * FROM A NATURAL JOIN B;\n"},
	{"SELECT STREAM * FROM o JOIN t OVER w ON o.id = t.id WINDOW w AS (RANGE INTERVAL '1' MINUTE PRECEDING)",
		"SELECT STREAM * FROM O JOIN T OVER W ON O.ID = T.ID WINDOW W AS (RANGE INTERVAL '1' MINUTE PRECEDING);\n"},
	{"SELECT STREAM * FROM o OVER (ROWS 10 PRECEDING) AS x JOIN t ON x.id = t.id",
		"SELECT STREAM * FROM O OVER (ROWS 10 PRECEDING) AS X JOIN T ON X.ID = T.ID;\n"},
	{"SELECT STREAM a FROM s ORDER BY FLOOR(s.ROWTIME TO SECOND), b DESC, c ASC",
		"SELECT STREAM A FROM S ORDER BY FLOOR(S.ROWTIME TO SECOND), B DESC, C ASC;\n"},
	{";;SELECT 1;;", "SELECT 1;\n"},
	{"// comment only\n-- another\n/* block */", ""},
}

func TestStmtSyntax(t *testing.T) {
	for _, tc := range stmtCases {
		s, err := Parse(tc.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.src, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("Parse(%q) prints\n%q\nwant\n%q", tc.src, got, tc.want)
			continue
		}
		checkRoundTrip(t, s)
	}
}

func TestIdentifiers(t *testing.T) {
	s := mustParse(t, `SELECT STREAM ticker, "Ticker", "a""b", tIcKeR_2$ FROM "SOURCE_SQL_STREAM_001"`)
	sel := s.Stmts[0].(*QueryStmt).Query.(*Select)
	want := []Ident{{Name: "TICKER"}, {Name: "Ticker", Quoted: true}, {Name: `a"b`, Quoted: true}, {Name: "TICKER_2$"}}
	for k, w := range want {
		id := sel.Items[k].Expr.(*Name).Parts[0]
		if id.Name != w.Name || id.Quoted != w.Quoted {
			t.Errorf("item %d: got %+v, want name %q quoted %v", k, id, w.Name, w.Quoted)
		}
	}
	from := sel.From.(*TableRef).Name.Parts[0]
	if from.Name != "SOURCE_SQL_STREAM_001" || !from.Quoted {
		t.Errorf("FROM: got %+v", from)
	}
}

func TestPositions(t *testing.T) {
	src := "CREATE PUMP p AS\n  INSERT INTO out\n    SELECT STREAM a,\n      COUNT(*) OVER w\n    FROM s\n    WINDOW w AS (RANGE INTERVAL '1' MINUTE PRECEDING);"
	s := mustParse(t, src)
	pump := s.Stmts[0].(*CreatePump)
	sel := pump.Insert.Query.(*Select)
	call := sel.Items[1].Expr.(*FuncCall)
	frame := sel.Windows[0].Spec.Frame
	for _, c := range []struct {
		what string
		got  Pos
		want Pos
	}{
		{"pump", pump.Pos, Pos{1, 1}},
		{"insert", pump.Insert.Pos, Pos{2, 3}},
		{"select", sel.Pos, Pos{3, 5}},
		{"item a", sel.Items[0].Pos, Pos{3, 19}},
		{"count", call.Pos, Pos{4, 7}},
		{"over", call.Over.Pos, Pos{4, 16}},
		{"from", sel.From.Position(), Pos{5, 10}},
		{"window", sel.Windows[0].Pos, Pos{6, 12}},
		{"frame", frame.Pos, Pos{6, 18}},
		{"interval", frame.Start.Offset.Position(), Pos{6, 24}},
	} {
		if c.got != c.want {
			t.Errorf("%s at %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestWindowBounds(t *testing.T) {
	e, err := ParseExpr("SUM(x) OVER (PARTITION BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 2 FOLLOWING)")
	if err != nil {
		t.Fatal(err)
	}
	f := e.(*FuncCall).Over.Spec.Frame
	if f.Unit != "ROWS" || f.Start.Kind != UnboundedPreceding || f.End.Kind != Following || Format(f.End.Offset) != "2" {
		t.Fatalf("frame = %s (%+v %+v)", f, f.Start, f.End)
	}
}
