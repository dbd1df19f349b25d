package kdasql

import (
	"errors"
	"strings"
	"testing"
)

var errorCases = []struct {
	name      string
	src       string
	line, col int
	msg       string // a substring of Error()
}{
	{"misspelled FROM (FORM becomes an alias)", "SELECT STREAM a\nFORM s", 2, 6, `Encountered "s" at line 2, column 6.`},
	{"stray comma before FROM (dev/stream-joins-concepts/3 as printed)", `SELECT STREAM
    ROWTIME, 
    o.orderId, o.ticker, o.amount AS orderAmount,
    t.ticker, t.tradeId, t.amount AS tradeAmount,
FROM OrderStream AS o
LEFT OUTER JOIN TradeStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t
ON    o.orderId = t.orderId;`, 5, 1, `Encountered "FROM" at line 5, column 1.`},
	{"missing comma (sqlref window examples as printed)", "SELECT STREAM ticker,\n count(*) OVER lastHour  sum(amount) OVER lastThree\nFROM Trades", 2, 29, `Encountered "(" at line 2, column 29.`},
	{"missing statement separator", "CREATE STREAM s (a INT)\nCREATE STREAM t (a INT)", 2, 1, `Was expecting one of:
    ";" ...
    <EOF> ...`},
	{"unknown type", "CREATE STREAM s (a STRING)", 1, 20, `Encountered "STRING"`},
	{"type arguments", "CREATE STREAM s (a INTEGER(4))", 1, 27, "takes at most 0 argument(s)"},
	{"EOF in expression", "SELECT STREAM a +", 1, 18, `Encountered "<EOF>" at line 1, column 18.`},
	{"unterminated string", "SELECT STREAM 'abc FROM s", 1, 15, "At line 1, column 15: unterminated string literal"},
	{"unterminated quoted identifier", "SELECT STREAM \"abc FROM s", 1, 15, "unterminated quoted identifier"},
	{"unterminated comment", "SELECT 1 /* never closed", 1, 10, "unterminated comment"},
	{"bad character", "SELECT STREAM a ~ b FROM s", 1, 17, `unexpected character "~"`},
	{"bad unicode escape", `SELECT u&'\zz' FROM s`, 1, 8, "invalid Unicode escape"},
	{"UNBOUNDED FOLLOWING", "SELECT STREAM SUM(x) OVER (ROWS BETWEEN CURRENT ROW AND\n  UNBOUNDED FOLLOWING) FROM s", 2, 3, "UNBOUNDED FOLLOWING is not supported"},
	{"STEP without BY", "SELECT STREAM STEP(s.ROWTIME) FROM s", 1, 29, `Encountered ")"`},
	{"STAGGER without PARTITION BY", "SELECT STREAM a FROM s WINDOWED BY STAGGER (RANGE INTERVAL '1' MINUTE)", 1, 45, `Encountered "RANGE"`},
	{"interval without unit", "SELECT STREAM a FROM s WINDOW w AS (RANGE INTERVAL '1' PRECEDING)", 1, 56, `Encountered "PRECEDING"`},
	{"reserved word as column", "SELECT STREAM from FROM s", 1, 15, `Encountered "from"`},
	{"keyword after pump AS", "CREATE PUMP p AS SELECT STREAM * FROM s", 1, 18, `"INSERT" ...`},
	{"CREATE something else", "CREATE TABLE t (a INT)", 1, 8, `"STREAM" ...`},
	{"double ORDER BY", "(SELECT STREAM a FROM s ORDER BY a) ORDER BY b", 1, 37, "ORDER BY is already given"},
	{"number into name", "SELECT STREAM 12abc FROM s", 1, 15, "a number may not run into a name"},
	{"TABLE without call", "SELECT STREAM * FROM TABLE(s)", 1, 28, "must contain a function call"},
	{"columns after tab and unicode", "SELECT STREAM\t\"é\", é2 +\n\t)", 2, 2, `Encountered ")" at line 2, column 2.`},
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.src)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.src)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if pe.Line != tc.line || pe.Column != tc.col {
				t.Errorf("at line %d, column %d; want line %d, column %d (%v)", pe.Line, pe.Column, tc.line, tc.col, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q does not contain %q", err.Error(), tc.msg)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse("SELECT STREAM a FROM s WHERE")
	want := "Encountered \"<EOF>\" at line 1, column 29.\nWas expecting one of:\n    <EXPRESSION> ..."
	if err == nil || err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	_, err = ParseQuery("SELECT STREAM a FROM s; x")
	if err == nil || !strings.HasPrefix(err.Error(), `Encountered "x" at line 1, column 25.`) {
		t.Fatalf("ParseQuery trailing text: %v", err)
	}
	_, err = ParseExpr("a b")
	if err == nil {
		t.Fatal("ParseExpr accepted trailing text")
	}
}

func TestNestingLimit(t *testing.T) {
	deep := "SELECT STREAM " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + " FROM s"
	_, err := Parse(deep)
	var pe *Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "nested too deeply") {
		t.Fatalf("got %v", err)
	}
	ok := "SELECT STREAM " + strings.Repeat("(", 50) + "1" + strings.Repeat(")", 50) + " FROM s"
	if _, err := Parse(ok); err != nil {
		t.Fatal(err)
	}
	chain := "SELECT STREAM " + strings.Repeat("- ", 5000) + "1 FROM s"
	if _, err := Parse(chain); err == nil {
		t.Fatal("5000 nested unary minus accepted")
	}
}
