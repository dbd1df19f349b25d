package engine

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// env is what a compiled expression reads: the current row of every FROM
// source, the current ROWTIME, and (in grouped and windowed queries) the
// group keys and aggregate results. One env per running operator; closures
// never capture mutable state, so a Program can run many Instances.
type env struct {
	rows     [][]any     // one row per FROM source
	rowtimes []time.Time // ROWTIME of each source row
	rowtime  time.Time   // ROWTIME of the row being computed
	keys     []any       // group / partition key values (grouped mode)
	aggs     []any       // aggregate results (grouped and windowed mode)
	start    time.Time   // query start: CURRENT_TIMESTAMP and friends (§4)
	err      *evalError  // first runtime error of this row
}

// evalError is a runtime error: the row goes to error_stream and is dropped.
type evalError struct {
	name string
	msg  string
}

func (e *env) fail(name, format string, args ...any) any {
	if e.err == nil {
		e.err = &evalError{name: name, msg: fmt.Sprintf(format, args...)}
	}
	return nil
}

// Error names written to error_stream's ERROR_NAME. The reference gives no
// list of names (§4 error stream only names the columns), so these are ours.
const (
	errDivZero     = "DivisionByZero"
	errConversion  = "ConversionError"
	errEvaluation  = "EvaluationError"
	errOutOfOrder  = "RowtimeOutOfOrder"
	errInsertOrder = "RowtimeOutOfOrder"
)

// expr is a compiled expression.
type expr struct {
	f     func(*env) any
	t     sqlType
	konst bool // value does not depend on the row
}

// Error is a semantic error in application code (unknown stream or column,
// type mismatch, pump INSERT arity, a GROUP BY without a monotonic key, a
// window the reference disallows), at the 1-based line and column of the
// construct. Syntax errors are *kdasql.Error instead. The API layer reports
// both as CodeValidationException.
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	return fmt.Sprintf("At line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func errAt(n kdasql.Node, format string, args ...any) *Error {
	p := n.Position()
	return &Error{Line: p.Line, Column: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// column is one column visible in a query: its source index, position and
// type, and the names it answers to.
type column struct {
	src  int
	idx  int // -1: the source's ROWTIME
	name string
	t    sqlType
}

// source is one FROM item as the scope sees it.
type source struct {
	name  string // stream or table name
	alias string
	cols  []column
}

// aggRef is one aggregate call found while compiling a grouped or windowed
// select list.
type aggRef struct {
	call *kdasql.FuncCall
	name string // upper-case function name
	args []expr
	star bool
	over *kdasql.WindowSpec // sliding mode: the resolved window
	t    sqlType
}

// scope is the compile-time view of a query.
type scope struct {
	c       *compiler
	srcs    []source
	keys    []string // grouped mode: the key expressions' SQL text
	keyT    []sqlType
	keyCols []column // the column a key names (idx -2 when the key is not a column)
	grouped bool     // keys and aggregates read env.keys/env.aggs
	aggs    []*aggRef
	allowAg bool                          // aggregates allowed here
	windows map[string]*kdasql.WindowSpec // WINDOW clause
	sliding bool                          // OVER allowed
	noAgg   string                        // why aggregates are refused, when !allowAg
}

func (s *scope) lookup(n *kdasql.Name) (column, error) {
	parts := n.Parts
	switch len(parts) {
	case 1:
		name := parts[0].Name
		var found []column
		for _, src := range s.srcs {
			for _, c := range src.cols {
				if c.name == name {
					found = append(found, c)
				}
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return column{}, errAt(n, "column %s is ambiguous", name)
		}
		if strings.EqualFold(name, "ROWTIME") && !parts[0].Quoted {
			return column{src: -1, idx: -1, name: "ROWTIME", t: tTimestamp}, nil
		}
		return column{}, errAt(n, "column %s not found in any table", name)
	case 2:
		q, name := parts[0].Name, parts[1].Name
		for i, src := range s.srcs {
			if src.alias == q || (src.alias == "" && src.name == q) || src.name == q {
				for _, c := range src.cols {
					if c.name == name {
						return c, nil
					}
				}
				if name == "ROWTIME" {
					return column{src: i, idx: -1, name: "ROWTIME", t: tTimestamp}, nil
				}
				return column{}, errAt(parts[1], "column %s not found in %s", name, q)
			}
		}
		return column{}, errAt(n, "table %s not found", q)
	}
	return column{}, errAt(n, "name %s is not supported here", n.String())
}

// fieldAccess reads a field of a ROW column: rec.COLUMN1 or t.rec.COLUMN1
// (sqlref log parsing functions: "access T.REC.COLUMN1").
func (s *scope) fieldAccess(n *kdasql.Name) (expr, bool) {
	if len(n.Parts) < 2 {
		return expr{}, false
	}
	prefix := &kdasql.Name{Pos: n.Pos, Parts: n.Parts[:len(n.Parts)-1]}
	c, err := s.lookup(prefix)
	if err != nil || c.t.k != kRow || (s.grouped && c.idx != -1) {
		return expr{}, false
	}
	field := n.Parts[len(n.Parts)-1].Name
	for i, f := range c.t.fields {
		if f == field {
			col := s.columnExpr(c).f
			return expr{f: func(v *env) any {
				r, ok := col(v).([]any)
				if !ok || i >= len(r) {
					return nil
				}
				return r[i]
			}, t: c.t.fieldT[i]}, true
		}
	}
	return expr{}, false
}

// isRowtime reports whether e is ROWTIME or s.ROWTIME.
func (s *scope) isRowtime(e kdasql.Expr) bool {
	n, ok := e.(*kdasql.Name)
	if !ok {
		return false
	}
	c, err := s.lookup(n)
	return err == nil && c.idx == -1
}

func konst(v any, t sqlType) expr {
	return expr{f: func(*env) any { return v }, t: t, konst: true}
}

// compile turns an expression into a closure.
func (s *scope) compile(e kdasql.Expr) (expr, error) {
	if s.grouped {
		if n, ok := e.(*kdasql.Name); ok {
			if c, err := s.lookup(n); err == nil && c.idx >= 0 {
				for i, kc := range s.keyCols {
					if kc.idx >= 0 && kc.src == c.src && kc.idx == c.idx {
						i := i
						return expr{f: func(v *env) any { return v.keys[i] }, t: s.keyT[i]}, nil
					}
				}
			}
		}
		txt := e.String()
		for i, k := range s.keys {
			if k == txt {
				i := i
				return expr{f: func(v *env) any { return v.keys[i] }, t: s.keyT[i]}, nil
			}
		}
	}
	x, err := s.compile1(e)
	if err != nil {
		return x, err
	}
	if x.konst && x.f != nil {
		// Fold constants once: evaluation errors stay runtime errors.
		var v env
		val := x.f(&v)
		if v.err == nil {
			return konst(val, x.t), nil
		}
	}
	return x, nil
}

func (s *scope) compile1(e kdasql.Expr) (expr, error) {
	switch n := e.(type) {
	case *kdasql.NumberLit:
		if n.Kind == kdasql.IntLit {
			v, err := strconv.ParseInt(n.Text, 10, 64)
			if err == nil {
				return konst(v, tInteger), nil
			}
		}
		f, err := strconv.ParseFloat(n.Text, 64)
		if err != nil {
			return expr{}, errAt(n, "bad number %s", n.Text)
		}
		if n.Kind == kdasql.DecimalLit {
			return konst(f, sqlType{k: kFloat, dec: true, scale: 18, text: "DECIMAL"}), nil
		}
		return konst(f, tDouble), nil
	case *kdasql.StringLit:
		return konst(n.Value, sqlType{k: kString, n: len([]rune(n.Value)), char: true, text: "CHAR"}), nil
	case *kdasql.BinaryLit:
		b := make([]byte, len(n.Hex)/2)
		for i := range b {
			x, _ := strconv.ParseUint(n.Hex[2*i:2*i+2], 16, 8)
			b[i] = byte(x)
		}
		return konst(b, sqlType{k: kBytes, text: "VARBINARY"}), nil
	case *kdasql.KeywordLit:
		switch n.Word {
		case "TRUE":
			return konst(true, tBool), nil
		case "FALSE":
			return konst(false, tBool), nil
		}
		return konst(nil, tNull), nil
	case *kdasql.TypedLit:
		t := map[string]sqlType{"DATE": {k: kDate, text: "DATE"}, "TIME": {k: kTime, text: "TIME"}, "TIMESTAMP": tTimestamp}[n.Type]
		v, err := castTo(n.Value, t)
		if err != nil {
			return expr{}, errAt(n, "%v", err)
		}
		return konst(v, t), nil
	case *kdasql.IntervalLit:
		v, err := intervalValue(n)
		if err != nil {
			return expr{}, err
		}
		if _, ok := v.(months); ok {
			return konst(v, sqlType{k: kMonths, text: "INTERVAL"}), nil
		}
		return konst(v, tInterval), nil
	case *kdasql.Name:
		c, err := s.lookup(n)
		if err != nil {
			if x, ok := s.fieldAccess(n); ok {
				return x, nil
			}
			return expr{}, err
		}
		if s.grouped && c.idx != -1 {
			return expr{}, errAt(n, "expression %s is not being grouped", n.String())
		}
		return s.columnExpr(c), nil
	case *kdasql.CurrentTime:
		return s.currentTime(n)
	case *kdasql.Unary:
		x, err := s.compile(n.X)
		if err != nil {
			return x, err
		}
		switch n.Op {
		case "NOT":
			f := x.f
			return expr{f: func(v *env) any {
				b, ok := f(v).(bool)
				if !ok {
					return nil
				}
				return !b
			}, t: tBool, konst: x.konst}, nil
		case "-":
			f := x.f
			return expr{f: func(v *env) any {
				switch a := f(v).(type) {
				case int64:
					return -a
				case float64:
					return -a
				case time.Duration:
					return -a
				case months:
					return -a
				case nil:
					return nil
				}
				return v.fail(errEvaluation, "cannot negate a non-number")
			}, t: x.t, konst: x.konst}, nil
		}
		return x, nil
	case *kdasql.Binary:
		return s.binary(n)
	case *kdasql.IsExpr:
		x, err := s.compile(n.X)
		if err != nil {
			return x, err
		}
		f, not, what := x.f, n.Not, n.What
		return expr{f: func(v *env) any {
			a := f(v)
			var r bool
			switch what {
			case "NULL", "UNKNOWN":
				r = a == nil
			case "TRUE":
				r = a == true
			case "FALSE":
				r = a == false
			}
			return r != not
		}, t: tBool, konst: x.konst}, nil
	case *kdasql.Between:
		x, err1 := s.compile(n.X)
		lo, err2 := s.compile(n.Lo)
		hi, err3 := s.compile(n.Hi)
		if err := firstErr(err1, err2, err3); err != nil {
			return expr{}, err
		}
		not := n.Not
		return expr{f: func(v *env) any {
			a, l, h := x.f(v), lo.f(v), hi.f(v)
			if a == nil || l == nil || h == nil {
				return nil
			}
			c1, ok1 := compare(a, l)
			c2, ok2 := compare(a, h)
			if !ok1 || !ok2 {
				return v.fail(errEvaluation, "cannot compare %s and %s", kindOf(a), kindOf(l))
			}
			return (c1 >= 0 && c2 <= 0) != not
		}, t: tBool}, nil
	case *kdasql.InExpr:
		if n.Query != nil {
			return expr{}, errAt(n, "IN (subquery) is not supported on a stream")
		}
		x, err := s.compile(n.X)
		if err != nil {
			return x, err
		}
		list := make([]expr, len(n.List))
		for i, it := range n.List {
			if list[i], err = s.compile(it); err != nil {
				return expr{}, err
			}
		}
		not := n.Not
		return expr{f: func(v *env) any {
			a := x.f(v)
			if a == nil {
				return nil
			}
			sawNull := false
			for _, it := range list {
				b := it.f(v)
				if b == nil {
					sawNull = true
					continue
				}
				if c, ok := compare(a, b); ok && c == 0 {
					return !not
				}
			}
			if sawNull {
				return nil
			}
			return not
		}, t: tBool}, nil
	case *kdasql.LikeExpr:
		return s.like(n)
	case *kdasql.Case:
		return s.caseExpr(n)
	case *kdasql.Cast:
		x, err := s.compile(n.X)
		if err != nil {
			return x, err
		}
		t, err := parseType(n.Type.String())
		if err != nil {
			return expr{}, errAt(n.Type, "%v", err)
		}
		f := x.f
		return expr{f: func(v *env) any {
			r, err := castTo(f(v), t)
			if err != nil {
				return v.fail(errConversion, "%v", err)
			}
			return r
		}, t: t, konst: x.konst}, nil
	case *kdasql.FuncCall:
		return s.call(n)
	case *kdasql.Step:
		return s.step(n)
	case *kdasql.FloorCeil:
		return s.floorCeil(n)
	case *kdasql.Extract:
		return s.extract(n)
	case *kdasql.PositionExpr:
		sub, err1 := s.compile(n.Sub)
		in, err2 := s.compile(n.In)
		if err := firstErr(err1, err2); err != nil {
			return expr{}, err
		}
		return strFn2(sub, in, tInteger, func(a, b string) any {
			i := strings.Index(b, a)
			if i < 0 {
				return int64(0)
			}
			return int64(len([]rune(b[:i])) + 1)
		}), nil
	case *kdasql.Substring:
		return s.substring(n)
	case *kdasql.Trim:
		return s.trim(n)
	case *kdasql.Overlay:
		return s.overlay(n)
	case *kdasql.Star:
		return expr{}, errAt(n, "* is only allowed in a select list or COUNT(*)")
	case *kdasql.Subquery, *kdasql.Exists:
		return expr{}, errAt(e, "subqueries in expressions are not supported on a stream")
	}
	return expr{}, errAt(e, "expression %s is not supported", e.String())
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *scope) columnExpr(c column) expr {
	src, idx := c.src, c.idx
	if idx == -1 {
		if src < 0 || s.grouped {
			return expr{f: func(v *env) any { return v.rowtime }, t: tTimestamp}
		}
		return expr{f: func(v *env) any { return v.rowtimes[src] }, t: tTimestamp}
	}
	return expr{f: func(v *env) any { return v.rows[src][idx] }, t: c.t}
}

// currentTime: CURRENT_ROW_TIMESTAMP is the wall-clock time of each row
// (sqlref "CURRENT_ROW_TIMESTAMP"); our clock is the caller's, so it reads
// the row's ROWTIME, the processing time the row was inserted at (§3 Time).
// CURRENT_DATE/TIME/TIMESTAMP and LOCALTIME(STAMP) are fixed at query start
// (§4).
func (s *scope) currentTime(n *kdasql.CurrentTime) (expr, error) {
	switch n.Name {
	case "CURRENT_ROW_TIMESTAMP":
		return expr{f: func(v *env) any { return v.rowtime }, t: tTimestamp}, nil
	case "CURRENT_DATE":
		return expr{f: func(v *env) any {
			t := v.start
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}, t: sqlType{k: kDate, text: "DATE"}}, nil
	case "CURRENT_TIME", "LOCALTIME":
		return expr{f: func(v *env) any {
			t := v.start
			return time.Date(1970, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		}, t: sqlType{k: kTime, text: "TIME"}}, nil
	}
	return expr{f: func(v *env) any { return v.start }, t: tTimestamp}, nil
}

// intervalValue reads INTERVAL 'v' unit [TO unit]: day-time intervals as a
// time.Duration, year-month ones as months.
func intervalValue(n *kdasql.IntervalLit) (any, error) {
	val := strings.TrimSpace(n.Value)
	neg := n.Negative
	if strings.HasPrefix(val, "-") {
		neg, val = !neg, val[1:]
	}
	u := n.Unit
	unitDur := map[string]time.Duration{"DAY": 24 * time.Hour, "HOUR": time.Hour, "MINUTE": time.Minute, "SECOND": time.Second}
	var out any
	switch {
	case u.Start == "YEAR" || u.Start == "MONTH":
		var m int64
		if u.End == "MONTH" {
			var y, mo int64
			if _, err := fmt.Sscanf(val, "%d-%d", &y, &mo); err != nil {
				return nil, errAt(n, "bad interval '%s'", n.Value)
			}
			m = y*12 + mo
		} else {
			x, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return nil, errAt(n, "bad interval '%s'", n.Value)
			}
			m = x
			if u.Start == "YEAR" {
				m *= 12
			}
		}
		if neg {
			m = -m
		}
		out = months(m)
	default:
		var d time.Duration
		if u.End == "" {
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return nil, errAt(n, "bad interval '%s'", n.Value)
			}
			d = time.Duration(f * float64(unitDur[u.Start]))
		} else {
			// DAY TO SECOND etc.: fields separated by space or ':'.
			fields := strings.FieldsFunc(val, func(r rune) bool { return r == ' ' || r == ':' })
			order := []string{"DAY", "HOUR", "MINUTE", "SECOND"}
			i := 0
			for i < len(order) && order[i] != u.Start {
				i++
			}
			for _, f := range fields {
				if i >= len(order) {
					return nil, errAt(n, "bad interval '%s'", n.Value)
				}
				x, err := strconv.ParseFloat(f, 64)
				if err != nil {
					return nil, errAt(n, "bad interval '%s'", n.Value)
				}
				d += time.Duration(x * float64(unitDur[order[i]]))
				i++
			}
		}
		if neg {
			d = -d
		}
		out = d
	}
	return out, nil
}

func (s *scope) binary(n *kdasql.Binary) (expr, error) {
	l, err := s.compile(n.L)
	if err != nil {
		return l, err
	}
	r, err := s.compile(n.R)
	if err != nil {
		return r, err
	}
	lf, rf := l.f, r.f
	k := l.konst && r.konst
	switch n.Op {
	case "AND":
		return expr{f: func(v *env) any {
			a := lf(v)
			if a == false {
				return false
			}
			b := rf(v)
			if b == false {
				return false
			}
			if a == nil || b == nil {
				return nil
			}
			return true
		}, t: tBool, konst: k}, nil
	case "OR":
		return expr{f: func(v *env) any {
			a := lf(v)
			if a == true {
				return true
			}
			b := rf(v)
			if b == true {
				return true
			}
			if a == nil || b == nil {
				return nil
			}
			return false
		}, t: tBool, konst: k}, nil
	case "=", "<>", "!=", "<", "<=", ">", ">=":
		if !compatible(l.t.k, r.t.k) {
			return expr{}, errAt(n, "cannot compare %s with %s", l.t.text, r.t.text)
		}
		var test func(int) bool
		switch n.Op {
		case "=":
			test = func(c int) bool { return c == 0 }
		case "<>", "!=":
			test = func(c int) bool { return c != 0 }
		case "<":
			test = func(c int) bool { return c < 0 }
		case "<=":
			test = func(c int) bool { return c <= 0 }
		case ">":
			test = func(c int) bool { return c > 0 }
		default:
			test = func(c int) bool { return c >= 0 }
		}
		return expr{f: func(v *env) any {
			a := lf(v)
			if a == nil {
				return nil
			}
			b := rf(v)
			if b == nil {
				return nil
			}
			c, ok := compare(a, b)
			if !ok {
				return v.fail(errEvaluation, "cannot compare %s with %s", kindOf(a), kindOf(b))
			}
			return test(c)
		}, t: tBool, konst: k}, nil
	case "||":
		return expr{f: func(v *env) any {
			a, b := lf(v), rf(v)
			if a == nil || b == nil {
				return nil
			}
			if x, ok := a.([]byte); ok {
				if y, ok := b.([]byte); ok {
					return append(append([]byte{}, x...), y...)
				}
			}
			return toString(a) + toString(b)
		}, t: sqlType{k: kString, n: l.t.n + r.t.n, text: "VARCHAR"}, konst: k}, nil
	case "+", "-", "*", "/":
		t, err := arithType(n, l.t, r.t)
		if err != nil {
			return expr{}, err
		}
		op := n.Op[0]
		if l.t.k == kInt && r.t.k == kInt {
			// Fast path: both sides are integers by type.
			return expr{f: func(v *env) any {
				a, ok1 := lf(v).(int64)
				b, ok2 := rf(v).(int64)
				if !ok1 || !ok2 {
					return nil
				}
				switch op {
				case '+':
					return a + b
				case '-':
					return a - b
				case '*':
					return a * b
				}
				if b == 0 {
					return v.fail(errDivZero, "division by zero")
				}
				return a / b
			}, t: t, konst: k}, nil
		}
		return expr{f: func(v *env) any {
			a := lf(v)
			if a == nil {
				return nil
			}
			b := rf(v)
			if b == nil {
				return nil
			}
			return arith(v, op, a, b)
		}, t: t, konst: k}, nil
	}
	return expr{}, errAt(n, "operator %s is not supported", n.Op)
}

func arithType(n kdasql.Node, a, b sqlType) (sqlType, error) {
	switch {
	case a.k == kNull:
		return b, nil
	case b.k == kNull:
		return a, nil
	case a.k == kInt && b.k == kInt:
		return tBigint, nil
	case a.k.class() == 1 && b.k.class() == 1:
		return tDouble, nil
	case a.k.class() == 3 && (b.k == kInterval || b.k == kMonths) && (n.(*kdasql.Binary).Op == "+" || n.(*kdasql.Binary).Op == "-"):
		return a, nil
	case (a.k == kInterval || a.k == kMonths) && b.k.class() == 3 && n.(*kdasql.Binary).Op == "+":
		return b, nil
	case a.k == kInterval && b.k == kInterval:
		return tInterval, nil
	case a.k == kInterval && b.k.class() == 1, a.k.class() == 1 && b.k == kInterval:
		return tInterval, nil
	}
	return sqlType{}, errAt(n, "cannot apply %s to %s and %s", n.(*kdasql.Binary).Op, a.text, b.text)
}

// arith is + - * / on values. Integer division truncates; division by zero
// is a runtime error for integers and doubles alike (§4 error stream: "also
// on REAL").
func arith(v *env, op byte, a, b any) any {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			switch op {
			case '+':
				return x + y
			case '-':
				return x - y
			case '*':
				return x * y
			}
			if y == 0 {
				return v.fail(errDivZero, "division by zero")
			}
			return x / y
		case float64:
			return farith(v, op, float64(x), y)
		case time.Duration:
			if op == '*' {
				return time.Duration(x) * y
			}
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return farith(v, op, x, float64(y))
		case float64:
			return farith(v, op, x, y)
		}
	case time.Time:
		switch y := b.(type) {
		case time.Duration:
			if op == '+' {
				return x.Add(y)
			}
			if op == '-' {
				return x.Add(-y)
			}
		case months:
			if op == '+' {
				return x.AddDate(0, int(y), 0)
			}
			if op == '-' {
				return x.AddDate(0, -int(y), 0)
			}
		}
	case time.Duration:
		switch y := b.(type) {
		case time.Time:
			if op == '+' {
				return y.Add(x)
			}
		case time.Duration:
			if op == '+' {
				return x + y
			}
			if op == '-' {
				return x - y
			}
		case int64:
			if op == '*' {
				return x * time.Duration(y)
			}
			if op == '/' {
				if y == 0 {
					return v.fail(errDivZero, "division by zero")
				}
				return x / time.Duration(y)
			}
		}
	case months:
		if y, ok := b.(time.Time); ok && op == '+' {
			return y.AddDate(0, int(x), 0)
		}
	}
	return v.fail(errEvaluation, "cannot apply %c to %s and %s", op, kindOf(a), kindOf(b))
}

func farith(v *env, op byte, x, y float64) any {
	switch op {
	case '+':
		return x + y
	case '-':
		return x - y
	case '*':
		return x * y
	}
	if y == 0 {
		return v.fail(errDivZero, "division by zero")
	}
	return x / y
}

// compare orders two non-NULL values; ok is false when they are not
// comparable.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp3(x < y, x > y), true
		case float64:
			return cmp3(float64(x) < y, float64(x) > y), true
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmp3(x < float64(y), x > float64(y)), true
		case float64:
			return cmp3(x < y, x > y), true
		}
	case string:
		if y, ok := b.(string); ok {
			// CHAR comparison pads with spaces (SQL:2008 PAD SPACE): trailing
			// blanks do not count.
			return strings.Compare(strings.TrimRight(x, " "), strings.TrimRight(y, " ")), true
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmp3(!x && y, x && !y), true
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y), true
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return strings.Compare(string(x), string(y)), true
		}
	case time.Duration:
		if y, ok := b.(time.Duration); ok {
			return cmp3(x < y, x > y), true
		}
	}
	return 0, false
}

func cmp3(lt, gt bool) int {
	if lt {
		return -1
	}
	if gt {
		return 1
	}
	return 0
}

func (s *scope) caseExpr(n *kdasql.Case) (expr, error) {
	var op expr
	var err error
	if n.Operand != nil {
		if op, err = s.compile(n.Operand); err != nil {
			return op, err
		}
	}
	conds := make([]expr, len(n.Whens))
	res := make([]expr, len(n.Whens))
	t := tNull
	for i, w := range n.Whens {
		if conds[i], err = s.compile(w.Cond); err != nil {
			return expr{}, err
		}
		if res[i], err = s.compile(w.Result); err != nil {
			return expr{}, err
		}
		t = unify(t, res[i].t)
	}
	els := konst(nil, tNull)
	if n.Else != nil {
		if els, err = s.compile(n.Else); err != nil {
			return expr{}, err
		}
		t = unify(t, els.t)
	}
	hasOp := n.Operand != nil
	return expr{f: func(v *env) any {
		var o any
		if hasOp {
			o = op.f(v)
		}
		for i, c := range conds {
			cv := c.f(v)
			if hasOp {
				if o == nil || cv == nil {
					continue
				}
				if x, ok := compare(o, cv); !ok || x != 0 {
					continue
				}
			} else if cv != true {
				continue
			}
			return res[i].f(v)
		}
		return els.f(v)
	}, t: t}, nil
}

// unify is the type of CASE/COALESCE results: the wider numeric type, the
// longer string.
func unify(a, b sqlType) sqlType {
	switch {
	case a.k == kNull:
		return b
	case b.k == kNull:
		return a
	case a.k == kInt && b.k == kFloat:
		return b
	case a.k == kString && b.k == kString:
		if b.n > a.n {
			a.n = b.n
		}
		a.char, a.text = false, "VARCHAR"
		return a
	}
	return a
}

// like compiles LIKE (SQL % and _) and SIMILAR TO (SQL:2008 regular
// expressions: % _ | * + ? {m,n} [] ()) to Go regular expressions matching
// the whole string.
func (s *scope) like(n *kdasql.LikeExpr) (expr, error) {
	x, err := s.compile(n.X)
	if err != nil {
		return x, err
	}
	p, err := s.compile(n.Pattern)
	if err != nil {
		return p, err
	}
	if err := wantString(n.X, x, n.Op); err != nil {
		return expr{}, err
	}
	if err := wantString(n.Pattern, p, n.Op); err != nil {
		return expr{}, err
	}
	esc := ""
	if n.Escape != nil {
		ee, err := s.compile(n.Escape)
		if err != nil {
			return ee, err
		}
		if !ee.konst {
			return expr{}, errAt(n.Escape, "ESCAPE must be a constant")
		}
		es, _ := ee.f(nil).(string)
		esc = es
	}
	similar := n.Op == "SIMILAR TO"
	translate := func(pat string) (*regexp.Regexp, error) {
		var b strings.Builder
		b.WriteString("(?s)^(?:")
		rs := []rune(pat)
		for i := 0; i < len(rs); i++ {
			c := rs[i]
			if esc != "" && string(c) == esc && i+1 < len(rs) {
				i++
				b.WriteString(regexp.QuoteMeta(string(rs[i])))
				continue
			}
			switch {
			case c == '%':
				b.WriteString(".*")
			case c == '_':
				b.WriteString(".")
			case similar && strings.ContainsRune("|*+?{}()[]^-,0123456789", c):
				b.WriteRune(c)
			default:
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		b.WriteString(")$")
		return regexp.Compile(b.String())
	}
	not := n.Not
	if p.konst {
		ps, _ := p.f(nil).(string)
		if p.f(nil) == nil {
			return konst(nil, tBool), nil
		}
		re, err := translate(ps)
		if err != nil {
			return expr{}, errAt(n.Pattern, "bad pattern: %v", err)
		}
		xf := x.f
		return expr{f: func(v *env) any {
			a, ok := xf(v).(string)
			if !ok {
				return nil
			}
			return re.MatchString(a) != not
		}, t: tBool}, nil
	}
	xf, pf := x.f, p.f
	return expr{f: func(v *env) any {
		a, ok1 := xf(v).(string)
		ps, ok2 := pf(v).(string)
		if !ok1 || !ok2 {
			return nil
		}
		re, err := translate(ps)
		if err != nil {
			return v.fail(errEvaluation, "bad pattern %q: %v", ps, err)
		}
		return re.MatchString(a) != not
	}, t: tBool}, nil
}

func (s *scope) step(n *kdasql.Step) (expr, error) {
	x, err := s.compile(n.X)
	if err != nil {
		return x, err
	}
	by, err := s.compile(n.By)
	if err != nil {
		return by, err
	}
	if !by.konst {
		return expr{}, errAt(n.By, "STEP width must be a constant")
	}
	w := by.f(nil)
	xf := x.f
	switch wv := w.(type) {
	case time.Duration:
		if wv <= 0 {
			return expr{}, errAt(n.By, "STEP width must be positive")
		}
		return expr{f: func(v *env) any {
			t, ok := xf(v).(time.Time)
			if !ok {
				return nil
			}
			return stepTime(t, wv)
		}, t: x.t}, nil
	case int64:
		if wv <= 0 {
			return expr{}, errAt(n.By, "STEP width must be positive")
		}
		// STEP on integers (sqlref STEP): the largest multiple of the width
		// not above x.
		return expr{f: func(v *env) any {
			a, ok := xf(v).(int64)
			if !ok {
				return nil
			}
			q := a / wv
			if a%wv != 0 && a < 0 {
				q--
			}
			return q * wv
		}, t: x.t}, nil
	}
	return expr{}, errAt(n.By, "STEP width must be a day-time interval or an integer")
}

// stepTime rounds t down to a multiple of w since the epoch (sqlref STEP:
// "STEP(ROWTIME BY INTERVAL '10' SECOND)" rounds down to 10 s).
func stepTime(t time.Time, w time.Duration) time.Time {
	ms := t.UnixMilli()
	wm := w.Milliseconds()
	if wm <= 0 {
		return t
	}
	q := ms / wm
	if ms%wm != 0 && ms < 0 {
		q--
	}
	return time.UnixMilli(q * wm).UTC()
}

// floorTime truncates t to unit (sqlref FLOOR: "FLOOR(ts TO MINUTE)").
func floorTime(t time.Time, unit string) time.Time {
	t = t.UTC()
	switch unit {
	case "YEAR":
		return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	case "MONTH":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "DAY":
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case "HOUR":
		return t.Truncate(time.Hour)
	case "MINUTE":
		return t.Truncate(time.Minute)
	case "SECOND":
		return t.Truncate(time.Second)
	case "WEEK":
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -int(d.Weekday()))
	case "QUARTER":
		return time.Date(t.Year(), t.Month()-(t.Month()-1)%3, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// addUnit moves t forward by one unit (the end of a FLOOR window).
func addUnit(t time.Time, unit string) time.Time {
	switch unit {
	case "YEAR":
		return t.AddDate(1, 0, 0)
	case "QUARTER":
		return t.AddDate(0, 3, 0)
	case "MONTH":
		return t.AddDate(0, 1, 0)
	case "WEEK":
		return t.AddDate(0, 0, 7)
	case "DAY":
		return t.AddDate(0, 0, 1)
	case "HOUR":
		return t.Add(time.Hour)
	case "MINUTE":
		return t.Add(time.Minute)
	}
	return t.Add(time.Second)
}

func (s *scope) floorCeil(n *kdasql.FloorCeil) (expr, error) {
	x, err := s.compile(n.X)
	if err != nil {
		return x, err
	}
	xf, unit, ceil := x.f, n.Unit, n.Fn != "FLOOR"
	return expr{f: func(v *env) any {
		t, ok := xf(v).(time.Time)
		if !ok {
			return nil
		}
		f := floorTime(t, unit)
		if ceil && !f.Equal(t) {
			return addUnit(f, unit)
		}
		return f
	}, t: x.t, konst: x.konst}, nil
}

func (s *scope) extract(n *kdasql.Extract) (expr, error) {
	x, err := s.compile(n.X)
	if err != nil {
		return x, err
	}
	xf, unit := x.f, n.Unit
	return expr{f: func(v *env) any {
		switch a := xf(v).(type) {
		case time.Time:
			switch unit {
			case "YEAR":
				return int64(a.Year())
			case "QUARTER":
				return int64((a.Month()-1)/3 + 1)
			case "MONTH":
				return int64(a.Month())
			case "WEEK":
				_, w := a.ISOWeek()
				return int64(w)
			case "DAY":
				return int64(a.Day())
			case "HOUR":
				return int64(a.Hour())
			case "MINUTE":
				return int64(a.Minute())
			case "SECOND":
				return int64(a.Second())
			case "DOY":
				return int64(a.YearDay())
			case "DOW":
				return int64(a.Weekday()) + 1
			case "EPOCH":
				return a.Unix()
			}
		case time.Duration:
			switch unit {
			case "DAY":
				return int64(a / (24 * time.Hour))
			case "HOUR":
				return int64(a/time.Hour) % 24
			case "MINUTE":
				return int64(a/time.Minute) % 60
			case "SECOND":
				return int64(a/time.Second) % 60
			}
		case nil:
			return nil
		}
		return v.fail(errEvaluation, "cannot EXTRACT %s from %s", unit, kindOf(xf(v)))
	}, t: tBigint, konst: x.konst}, nil
}

// wantString refuses a non-character operand of a string operation.
func wantString(at kdasql.Node, x expr, op string) error {
	if x.t.k != kString && x.t.k != kNull {
		return errAt(at, "%s needs a character string, not %s", op, x.t.text)
	}
	return nil
}

func (s *scope) substring(n *kdasql.Substring) (expr, error) {
	x, err := s.compile(n.X)
	if err != nil {
		return x, err
	}
	if err := wantString(n.X, x, "SUBSTRING"); err != nil {
		return expr{}, err
	}
	from, err := s.compile(n.From)
	if err != nil {
		return from, err
	}
	var forE *expr
	if n.For != nil {
		f, err := s.compile(n.For)
		if err != nil {
			return f, err
		}
		forE = &f
	}
	return expr{f: func(v *env) any {
		a, ok := x.f(v).(string)
		st, ok2 := from.f(v).(int64)
		if !ok || !ok2 {
			return nil
		}
		// SQL:2008 §6.29: characters from position st (1-based), length l;
		// positions before 1 shorten the result.
		r := []rune(a)
		end := int64(len(r)) + 1
		if forE != nil {
			l, ok := forE.f(v).(int64)
			if !ok {
				return nil
			}
			if l < 0 {
				return v.fail(errEvaluation, "negative substring length")
			}
			end = st + l
		}
		if st < 1 {
			st = 1
		}
		if end > int64(len(r))+1 {
			end = int64(len(r)) + 1
		}
		if st >= end {
			return ""
		}
		return string(r[st-1 : end-1])
	}, t: sqlType{k: kString, n: x.t.n, text: "VARCHAR"}}, nil
}

func (s *scope) trim(n *kdasql.Trim) (expr, error) {
	x, err := s.compile(n.X)
	if err != nil {
		return x, err
	}
	if err := wantString(n.X, x, "TRIM"); err != nil {
		return expr{}, err
	}
	ch := konst(" ", tVarchar)
	if n.Char != nil {
		if ch, err = s.compile(n.Char); err != nil {
			return ch, err
		}
	}
	where := n.Where
	return expr{f: func(v *env) any {
		a, ok := x.f(v).(string)
		c, ok2 := ch.f(v).(string)
		if !ok || !ok2 {
			return nil
		}
		switch where {
		case "LEADING":
			for c != "" && strings.HasPrefix(a, c) {
				a = a[len(c):]
			}
		case "TRAILING":
			for c != "" && strings.HasSuffix(a, c) {
				a = a[:len(a)-len(c)]
			}
		default:
			for c != "" && strings.HasPrefix(a, c) {
				a = a[len(c):]
			}
			for c != "" && strings.HasSuffix(a, c) {
				a = a[:len(a)-len(c)]
			}
		}
		return a
	}, t: sqlType{k: kString, n: x.t.n, text: "VARCHAR"}}, nil
}

func (s *scope) overlay(n *kdasql.Overlay) (expr, error) {
	x, err1 := s.compile(n.X)
	p, err2 := s.compile(n.Placing)
	f, err3 := s.compile(n.From)
	if err := firstErr(err1, err2, err3); err != nil {
		return expr{}, err
	}
	var forE *expr
	if n.For != nil {
		e, err := s.compile(n.For)
		if err != nil {
			return e, err
		}
		forE = &e
	}
	return expr{f: func(v *env) any {
		a, ok1 := x.f(v).(string)
		b, ok2 := p.f(v).(string)
		st, ok3 := f.f(v).(int64)
		if !ok1 || !ok2 || !ok3 {
			return nil
		}
		ra, rb := []rune(a), []rune(b)
		l := int64(len(rb))
		if forE != nil {
			if l, ok1 = forE.f(v).(int64); !ok1 {
				return nil
			}
		}
		st = max(1, min(st, int64(len(ra))+1))
		e := min(st-1+l, int64(len(ra)))
		return string(ra[:st-1]) + b + string(ra[e:])
	}, t: tVarchar}, nil
}

func strFn2(a, b expr, t sqlType, f func(a, b string) any) expr {
	return expr{f: func(v *env) any {
		x, ok1 := a.f(v).(string)
		y, ok2 := b.f(v).(string)
		if !ok1 || !ok2 {
			return nil
		}
		return f(x, y)
	}, t: t}
}

func toFloat(a any) (float64, bool) {
	switch x := a.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

var _ = math.Abs
