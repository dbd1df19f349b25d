package engine

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"

	kdasql "github.com/rheos/rheos/internal/analytics/sql"
)

// aggregates are the aggregate/analytic functions of sqlref "Aggregate
// Functions" and "Analytic Functions" that the engine computes.
var aggregates = map[string]bool{
	"AVG": true, "COUNT": true, "SUM": true, "MIN": true, "MAX": true,
	"FIRST_VALUE": true, "LAST_VALUE": true, "LAG": true,
	"STDDEV_POP": true, "STDDEV_SAMP": true, "STDDEV": true, "VAR_POP": true, "VAR_SAMP": true, "VARIANCE": true,
	"ANY": true, "EVERY": true, "NTH_VALUE": true,
}

func (s *scope) call(n *kdasql.FuncCall) (expr, error) {
	if len(n.Name.Parts) != 1 {
		return expr{}, errAt(n, "function %s not found", n.Name.String())
	}
	name := strings.ToUpper(n.Name.Parts[0].Name)
	if aggregates[name] {
		return s.aggregate(n, name)
	}
	if n.Over != nil {
		return expr{}, errAt(n, "%s is not an analytic function", name)
	}
	if udf, ok := s.c.funcs[name]; ok {
		return s.callUDF(n, udf)
	}
	args := make([]expr, len(n.Args))
	for i, a := range n.Args {
		x, err := s.compile(a)
		if err != nil {
			return x, err
		}
		args[i] = x
	}
	b, ok := scalars[name]
	if !ok {
		return expr{}, errAt(n, "function %s not found", name)
	}
	if len(args) < b.min || (b.max >= 0 && len(args) > b.max) {
		return expr{}, errAt(n, "wrong number of arguments to %s", name)
	}
	if sig, ok := argClasses[name]; ok {
		for i, a := range args {
			want := sig[min(i, len(sig)-1)]
			if want != 0 && a.t.k != kNull && a.t.k.class() != want && !(want == 1 && a.t.k == kInterval && name == "ABS") {
				return expr{}, errAt(n.Args[i], "argument %d of %s must be %s, not %s", i+1, name, className[want], a.t.text)
			}
		}
	}
	x, err := b.build(args)
	if err != nil {
		return expr{}, errAt(n, "%s: %v", name, err)
	}
	k := true
	for _, a := range args {
		k = k && a.konst
	}
	x.konst = k && !b.volatile
	return x, nil
}

// aggregate registers an aggregate call with the enclosing grouped or
// windowed query; its value is read from env.aggs.
func (s *scope) aggregate(n *kdasql.FuncCall, name string) (expr, error) {
	if !s.allowAg {
		msg := s.noAgg
		if msg == "" {
			msg = "aggregate " + name + " is not allowed here"
		}
		return expr{}, errAt(n, "%s", msg)
	}
	if n.Quantifier == "DISTINCT" {
		// sqlref allowed-disallowed-window: COUNT(DISTINCT) neither as an
		// analytic function nor with a streaming GROUP BY.
		return expr{}, errAt(n, "%s(DISTINCT ...) is not allowed on a stream", name)
	}
	ref := &aggRef{call: n, name: name, star: n.Star}
	if n.Over != nil {
		if !s.sliding {
			return expr{}, errAt(n, "OVER is not allowed in a query with GROUP BY or WINDOWED BY")
		}
		spec, err := s.resolveWindow(n.Over)
		if err != nil {
			return expr{}, err
		}
		ref.over = spec
	} else if s.sliding && !s.grouped {
		return expr{}, errAt(n, "aggregate %s on a stream needs OVER (a sliding window) or GROUP BY on a monotonic expression (a tumbling window)", name)
	} else if name == "LAG" || name == "NTH_VALUE" {
		return expr{}, errAt(n, "%s needs OVER", name)
	}
	// Arguments are evaluated per input row, outside grouped mode.
	inner := *s
	inner.grouped, inner.allowAg, inner.noAgg = false, false, "aggregates cannot be nested"
	for _, a := range n.Args {
		x, err := inner.compile(a)
		if err != nil {
			return x, err
		}
		ref.args = append(ref.args, x)
	}
	if n.Star && name != "COUNT" {
		return expr{}, errAt(n, "only COUNT takes *")
	}
	if !n.Star && len(ref.args) == 0 {
		return expr{}, errAt(n, "%s needs an argument", name)
	}
	switch name {
	case "COUNT":
		ref.t = tBigint
	case "AVG", "SUM", "MIN", "MAX", "FIRST_VALUE", "LAST_VALUE", "LAG", "NTH_VALUE":
		ref.t = ref.args[0].t
		if name == "SUM" && ref.t.k == kInt {
			ref.t = tBigint
		}
		if (name == "SUM" || name == "AVG") && ref.t.k.class() != 1 && ref.t.k != kNull {
			return expr{}, errAt(n, "%s needs a numeric argument, not %s", name, ref.t.text)
		}
	case "ANY", "EVERY":
		ref.t = tBool
	default:
		ref.t = tDouble
	}
	i := len(s.aggs)
	s.aggs = append(s.aggs, ref)
	return expr{f: func(v *env) any { return v.aggs[i] }, t: ref.t}, nil
}

// resolveWindow returns the spec of OVER name or OVER (spec) and checks it
// against sqlref allowed-disallowed-window.
func (s *scope) resolveWindow(o *kdasql.Over) (*kdasql.WindowSpec, error) {
	spec := o.Spec
	if o.Name != nil {
		w, ok := s.windows[o.Name.Name]
		if !ok {
			return nil, errAt(o.Name, "window %s not found", o.Name.Name)
		}
		spec = w
	} else if spec.Base != nil {
		w, ok := s.windows[spec.Base.Name]
		if !ok {
			return nil, errAt(spec.Base, "window %s not found", spec.Base.Name)
		}
		merged := *w
		if len(spec.PartitionBy) > 0 {
			merged.PartitionBy = spec.PartitionBy
		}
		if spec.Frame != nil {
			merged.Frame = spec.Frame
		}
		spec = &merged
	}
	if len(spec.OrderBy) > 0 {
		return nil, errAt(spec.OrderBy[0], "ORDER BY is not allowed inside a windowed-aggregation window")
	}
	if f := spec.Frame; f != nil {
		if f.End != nil && f.End.Kind != kdasql.CurrentRow {
			return nil, errAt(f.End, "a window frame must end at CURRENT ROW")
		}
		switch f.Start.Kind {
		case kdasql.Following, kdasql.UnboundedFollowing:
			return nil, errAt(f.Start, "FOLLOWING frames are not allowed on a stream")
		case kdasql.UnboundedPreceding:
			return nil, errAt(f.Start, "UNBOUNDED PRECEDING is not allowed on a stream")
		}
	}
	return spec, nil
}

func (s *scope) callUDF(n *kdasql.FuncCall, f *kdasql.CreateFunction) (expr, error) {
	if len(n.Args) != len(f.Params) {
		return expr{}, errAt(n, "wrong number of arguments to %s", f.Name.String())
	}
	// UDF bodies are inlined at compile time; a function that calls itself
	// (directly or not) would never finish.
	if s.c.udfDepth >= 16 {
		return expr{}, errAt(n, "function %s calls itself", f.Name.String())
	}
	s.c.udfDepth++
	defer func() { s.c.udfDepth-- }()
	args := make([]expr, len(n.Args))
	for i, a := range n.Args {
		x, err := s.compile(a)
		if err != nil {
			return x, err
		}
		args[i] = x
	}
	// Parameters are a source of their own: compile the body with them as
	// columns of source 0 of a private scope.
	ps := &scope{c: s.c}
	src := source{name: f.Name.String()}
	for i, p := range f.Params {
		t, err := parseType(p.Type.String())
		if err != nil {
			return expr{}, errAt(p.Type, "%v", err)
		}
		src.cols = append(src.cols, column{src: 0, idx: i, name: p.Name.Name, t: t})
	}
	ps.srcs = []source{src}
	body, err := ps.compile(f.Body)
	if err != nil {
		return expr{}, err
	}
	rt, err := parseType(f.Returns.String())
	if err != nil {
		return expr{}, errAt(f.Returns, "%v", err)
	}
	nullOnNull := false
	for _, o := range f.Options {
		nullOnNull = nullOnNull || o == "RETURNS NULL ON NULL INPUT"
	}
	bf := body.f
	return expr{f: func(v *env) any {
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a.f(v)
			if vals[i] == nil && nullOnNull {
				return nil
			}
		}
		inner := env{rows: [][]any{vals}, rowtimes: []time.Time{v.rowtime}, rowtime: v.rowtime, start: v.start}
		r := bf(&inner)
		if inner.err != nil {
			v.err = inner.err
			return nil
		}
		r, err := castTo(r, rt)
		if err != nil {
			return v.fail(errConversion, "%v", err)
		}
		return r
	}, t: rt}, nil
}

// argClasses are the scalar functions' argument classes (kind.class: 1
// numeric, 2 string, 3 datetime; 0 any), the last repeating; a NULL literal
// fits all. They follow the signatures of the sqlref function pages.
var argClasses = map[string][]int{
	"ABS": {1}, "MOD": {1}, "POWER": {1}, "EXP": {1}, "LN": {1}, "LOG10": {1}, "SQRT": {1},
	"FLOOR": {1}, "CEIL": {1}, "CEILING": {1},
	"CHAR_LENGTH": {2}, "CHARACTER_LENGTH": {2}, "UPPER": {2}, "LOWER": {2}, "INITCAP": {2},
	"TSDIFF": {3}, "UNIX_TIMESTAMP": {3}, "TO_TIMESTAMP": {1},
	"CHAR_TO_TIMESTAMP": {2}, "CHAR_TO_DATE": {2}, "CHAR_TO_TIME": {2},
	"TIMESTAMP_TO_CHAR": {2, 3}, "DATE_TO_CHAR": {2, 3}, "TIME_TO_CHAR": {2, 3},
	"REGEX_REPLACE":   {2, 2, 2, 1},
	"REGEX_LOG_PARSE": {2}, "FAST_REGEX_LOG_PARSER": {2},
	"W3C_LOG_PARSE": {2}, "SYS_LOG_PARSE": {2}, "FIXED_COLUMN_LOG_PARSE": {2},
}

var className = map[int]string{1: "numeric", 2: "a character string", 3: "a DATE, TIME or TIMESTAMP"}

type scalar struct {
	min, max int // argument count; max -1: any
	volatile bool
	build    func(a []expr) (expr, error)
}

func num1(f func(float64) float64, t sqlType) func(a []expr) (expr, error) {
	return func(a []expr) (expr, error) {
		x := a[0].f
		return expr{f: func(v *env) any {
			switch n := x(v).(type) {
			case float64:
				return f(n)
			case int64:
				return f(float64(n))
			}
			return nil
		}, t: t}, nil
	}
}

var scalars map[string]scalar

func init() {
	scalars = map[string]scalar{
		"ABS": {1, 1, false, func(a []expr) (expr, error) {
			x := a[0].f
			return expr{f: func(v *env) any {
				switch n := x(v).(type) {
				case int64:
					if n < 0 {
						return -n
					}
					return n
				case float64:
					return math.Abs(n)
				case time.Duration:
					if n < 0 {
						return -n
					}
					return n
				}
				return nil
			}, t: a[0].t}, nil
		}},
		"MOD": {2, 2, false, func(a []expr) (expr, error) {
			x, y := a[0].f, a[1].f
			return expr{f: func(v *env) any {
				p, ok1 := x(v).(int64)
				q, ok2 := y(v).(int64)
				if !ok1 || !ok2 {
					pf, ok1 := toFloat(x(v))
					qf, ok2 := toFloat(y(v))
					if !ok1 || !ok2 {
						return nil
					}
					if qf == 0 {
						return v.fail(errDivZero, "division by zero")
					}
					return math.Mod(pf, qf)
				}
				if q == 0 {
					return v.fail(errDivZero, "division by zero")
				}
				return p % q
			}, t: a[1].t}, nil
		}},
		"POWER": {2, 2, false, func(a []expr) (expr, error) {
			x, y := a[0].f, a[1].f
			return expr{f: func(v *env) any {
				p, ok1 := toFloat(x(v))
				q, ok2 := toFloat(y(v))
				if !ok1 || !ok2 {
					return nil
				}
				return math.Pow(p, q)
			}, t: tDouble}, nil
		}},
		"EXP":     {1, 1, false, num1(math.Exp, tDouble)},
		"LN":      {1, 1, false, num1(math.Log, tDouble)},
		"LOG10":   {1, 1, false, num1(math.Log10, tDouble)},
		"SQRT":    {1, 1, false, num1(math.Sqrt, tDouble)},
		"FLOOR":   {1, 1, false, roundFn(math.Floor)},
		"CEIL":    {1, 1, false, roundFn(math.Ceil)},
		"CEILING": {1, 1, false, roundFn(math.Ceil)},
		"COALESCE": {1, -1, false, func(a []expr) (expr, error) {
			t := tNull
			for _, x := range a {
				t = unify(t, x.t)
			}
			return expr{f: func(v *env) any {
				for _, x := range a {
					if r := x.f(v); r != nil {
						return r
					}
				}
				return nil
			}, t: t}, nil
		}},
		"NULLIF": {2, 2, false, func(a []expr) (expr, error) {
			x, y := a[0].f, a[1].f
			return expr{f: func(v *env) any {
				p, q := x(v), y(v)
				if p != nil && q != nil {
					if c, ok := compare(p, q); ok && c == 0 {
						return nil
					}
				}
				return p
			}, t: a[0].t}, nil
		}},
		"CHAR_LENGTH":      {1, 1, false, strLen},
		"CHARACTER_LENGTH": {1, 1, false, strLen},
		"UPPER":            {1, 1, false, strMap(strings.ToUpper)},
		"LOWER":            {1, 1, false, strMap(strings.ToLower)},
		"INITCAP": {1, 1, false, strMap(func(s string) string {
			r := []rune(strings.ToLower(s))
			up := true
			for i, c := range r {
				if up && unicode.IsLetter(c) {
					r[i] = unicode.ToUpper(c)
				}
				up = !unicode.IsLetter(c) && !unicode.IsDigit(c)
			}
			return string(r)
		})},
		"TSDIFF": {2, 2, false, func(a []expr) (expr, error) {
			// sqlref TSDIFF: (ts1 - ts2) in milliseconds.
			x, y := a[0].f, a[1].f
			return expr{f: func(v *env) any {
				p, ok1 := x(v).(time.Time)
				q, ok2 := y(v).(time.Time)
				if !ok1 || !ok2 {
					return nil
				}
				return p.Sub(q).Milliseconds()
			}, t: tBigint}, nil
		}},
		"UNIX_TIMESTAMP": {1, 1, false, func(a []expr) (expr, error) {
			// sqlref UNIX_TIMESTAMP: milliseconds since the epoch.
			x := a[0].f
			return expr{f: func(v *env) any {
				p, ok := x(v).(time.Time)
				if !ok {
					return nil
				}
				return p.UnixMilli()
			}, t: tBigint}, nil
		}},
		"TO_TIMESTAMP": {1, 1, false, func(a []expr) (expr, error) {
			// sqlref TO_TIMESTAMP: epoch milliseconds to TIMESTAMP.
			x := a[0].f
			return expr{f: func(v *env) any {
				switch p := x(v).(type) {
				case int64:
					return time.UnixMilli(p).UTC()
				case float64:
					return time.UnixMilli(int64(p)).UTC()
				}
				return nil
			}, t: tTimestamp}, nil
		}},
		"CHAR_TO_TIMESTAMP":         {2, 2, false, charTo(tTimestamp)},
		"CHAR_TO_DATE":              {2, 2, false, charTo(sqlType{k: kDate, text: "DATE"})},
		"CHAR_TO_TIME":              {2, 2, false, charTo(sqlType{k: kTime, text: "TIME"})},
		"TIMESTAMP_TO_CHAR":         {2, 2, false, toChar},
		"DATE_TO_CHAR":              {2, 2, false, toChar},
		"TIME_TO_CHAR":              {2, 2, false, toChar},
		"REGEX_REPLACE":             {3, 5, false, regexReplace},
		"REGEX_LOG_PARSE":           {2, 2, false, regexLogParse},
		"FAST_REGEX_LOG_PARSER":     {2, 2, false, regexLogParse},
		"VARIABLE_COLUMN_LOG_PARSE": {3, 4, false, variableColumnLogParse},
		"W3C_LOG_PARSE":             {2, 2, false, w3cLogParse},
		"SYS_LOG_PARSE":             {1, 1, false, sysLogParse},
		"FIXED_COLUMN_LOG_PARSE":    {2, 2, false, fixedColumnLogParse},
	}
}

func roundFn(f func(float64) float64) func(a []expr) (expr, error) {
	return func(a []expr) (expr, error) {
		x := a[0].f
		return expr{f: func(v *env) any {
			switch n := x(v).(type) {
			case int64:
				return n
			case float64:
				return f(n)
			}
			return nil
		}, t: a[0].t}, nil
	}
}

func strLen(a []expr) (expr, error) {
	x := a[0].f
	return expr{f: func(v *env) any {
		s, ok := x(v).(string)
		if !ok {
			return nil
		}
		return int64(len([]rune(s)))
	}, t: tInteger}, nil
}

func strMap(f func(string) string) func(a []expr) (expr, error) {
	return func(a []expr) (expr, error) {
		x := a[0].f
		return expr{f: func(v *env) any {
			s, ok := x(v).(string)
			if !ok {
				return nil
			}
			return f(s)
		}, t: sqlType{k: kString, n: a[0].t.n, text: "VARCHAR"}}, nil
	}
}

// charTo is CHAR_TO_TIMESTAMP(format, string) and friends: the format is a
// Java SimpleDateFormat pattern (sqlref CHAR_TO_TIMESTAMP).
func charTo(t sqlType) func(a []expr) (expr, error) {
	return func(a []expr) (expr, error) {
		f, x := a[0], a[1].f
		var fixed string
		if f.konst {
			p, _ := f.f(nil).(string)
			fixed = javaLayout(p)
		}
		return expr{f: func(v *env) any {
			s, ok := x(v).(string)
			if !ok {
				return nil
			}
			layout := fixed
			if !f.konst {
				p, ok := f.f(v).(string)
				if !ok {
					return nil
				}
				layout = javaLayout(p)
			}
			tm, err := time.Parse(layout, s)
			if err != nil {
				return v.fail(errConversion, "cannot parse %q as %s: %v", s, t.text, err)
			}
			r, _ := castTo(tm.UTC(), t)
			return r
		}, t: t}, nil
	}
}

// toChar is TIMESTAMP_TO_CHAR(format, ts) (sqlref TIMESTAMP_TO_CHAR).
func toChar(a []expr) (expr, error) {
	f, x := a[0], a[1].f
	var fixed string
	if f.konst {
		p, _ := f.f(nil).(string)
		fixed = javaLayout(p)
	}
	return expr{f: func(v *env) any {
		var tm time.Time
		switch p := x(v).(type) {
		case time.Time:
			tm = p
		case int64:
			tm = time.UnixMilli(p).UTC()
		default:
			return nil
		}
		layout := fixed
		if !f.konst {
			p, ok := f.f(v).(string)
			if !ok {
				return nil
			}
			layout = javaLayout(p)
		}
		return tm.UTC().Format(layout)
	}, t: tVarchar}, nil
}

// javaLayout translates a Java SimpleDateFormat pattern into a Go time
// layout: runs of one pattern letter map to Go's reference-time fields,
// 'quoted' text is literal.
func javaLayout(p string) string {
	var b strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); {
		c := rs[i]
		if c == '\'' {
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == i+1 {
				b.WriteRune('\'')
			} else {
				b.WriteString(string(rs[i+1 : j]))
			}
			i = j + 1
			continue
		}
		j := i
		for j < len(rs) && rs[j] == c {
			j++
		}
		n := j - i
		switch c {
		case 'y':
			if n == 2 {
				b.WriteString("06")
			} else {
				b.WriteString("2006")
			}
		case 'M':
			switch {
			case n >= 4:
				b.WriteString("January")
			case n == 3:
				b.WriteString("Jan")
			case n == 2:
				b.WriteString("01")
			default:
				b.WriteString("1")
			}
		case 'd':
			if n >= 2 {
				b.WriteString("02")
			} else {
				b.WriteString("2")
			}
		case 'H', 'k':
			b.WriteString("15")
		case 'h', 'K':
			if n >= 2 {
				b.WriteString("03")
			} else {
				b.WriteString("3")
			}
		case 'm':
			if n >= 2 {
				b.WriteString("04")
			} else {
				b.WriteString("4")
			}
		case 's':
			if n >= 2 {
				b.WriteString("05")
			} else {
				b.WriteString("5")
			}
		case 'S':
			// Go wants fractional seconds after a separator; ".SSS" reads
			// as ".000".
			b.WriteString(strings.Repeat("0", n))
		case 'a':
			b.WriteString("PM")
		case 'E':
			if n >= 4 {
				b.WriteString("Monday")
			} else {
				b.WriteString("Mon")
			}
		case 'Z':
			b.WriteString("-0700")
		case 'X':
			b.WriteString("Z07:00")
		case 'z':
			b.WriteString("MST")
		case 'D':
			b.WriteString("002")
		default:
			b.WriteString(string(rs[i:j]))
		}
		i = j
	}
	return b.String()
}

// regexReplace is REGEX_REPLACE(s, pattern, replacement, start, occurrence)
// (sqlref REGEX_REPLACE): start is 1-based, occurrence 0 replaces all.
// Java's $1 group references mean the same in Go's Expand.
func regexReplace(a []expr) (expr, error) {
	var fixed *regexp.Regexp
	if a[1].konst {
		p, _ := a[1].f(nil).(string)
		re, err := regexp.Compile(p)
		if err != nil {
			return expr{}, err
		}
		fixed = re
	}
	return expr{f: func(v *env) any {
		s, ok1 := a[0].f(v).(string)
		rep, ok2 := a[2].f(v).(string)
		if !ok1 || !ok2 {
			return nil
		}
		re := fixed
		if re == nil {
			p, ok := a[1].f(v).(string)
			if !ok {
				return nil
			}
			var err error
			if re, err = regexp.Compile(p); err != nil {
				return v.fail(errEvaluation, "bad regular expression %q: %v", p, err)
			}
		}
		start, occ := int64(1), int64(0)
		if len(a) > 3 {
			if start, ok1 = a[3].f(v).(int64); !ok1 {
				return nil
			}
		}
		if len(a) > 4 {
			if occ, ok1 = a[4].f(v).(int64); !ok1 {
				return nil
			}
		}
		r := []rune(s)
		if start < 1 || start > int64(len(r))+1 {
			return v.fail(errEvaluation, "REGEX_REPLACE start %d out of range", start)
		}
		head, tail := string(r[:start-1]), string(r[start-1:])
		n := int64(0)
		out := re.ReplaceAllStringFunc(tail, func(m string) string {
			n++
			if occ != 0 && n != occ {
				return m
			}
			sub := re.FindStringSubmatchIndex(m)
			return string(re.ExpandString(nil, rep, m, sub))
		})
		return head + out
	}, t: tVarchar}, nil
}

// rowType is a ROW with fields COLUMN1..COLUMNn of type t, or the given
// names and types.
func rowType(names []string, types []sqlType) sqlType {
	return sqlType{k: kRow, text: "ROW", fields: names, fieldT: types}
}

// regexLogParse is REGEX_LOG_PARSE(s, pattern) (sqlref REGEX_LOG_PARSE; also
// FAST_REGEX_LOG_PARSER): a ROW of the capture groups, COLUMN1..COLUMNn as
// VARCHAR, or NULL when the string does not match. The pattern is a Java
// regex; Go's RE2 reads the same syntax except backreferences and
// lookaround, which are refused at compile time (§4).
func regexLogParse(a []expr) (expr, error) {
	if !a[1].konst {
		return expr{}, errorf("the pattern must be a constant")
	}
	p, _ := a[1].f(nil).(string)
	re, err := regexp.Compile("^(?:" + p + ")$")
	if err != nil {
		return expr{}, errorf("pattern %q: %v (Java backreferences and lookaround are not supported)", p, err)
	}
	n := re.NumSubexp()
	names := make([]string, n)
	types := make([]sqlType, n)
	for i := range names {
		names[i] = "COLUMN" + itoa(i+1)
		types[i] = tVarchar
	}
	x := a[0].f
	return expr{f: func(v *env) any {
		s, ok := x(v).(string)
		if !ok {
			return nil
		}
		m := re.FindStringSubmatchIndex(s)
		if m == nil {
			return nil
		}
		out := make([]any, n)
		for i := 0; i < n; i++ {
			if m[2*i+2] >= 0 {
				out[i] = s[m[2*i+2]:m[2*i+3]]
			}
		}
		return out
	}, t: rowType(names, types)}, nil
}

// variableColumnLogParse is VARIABLE_COLUMN_LOG_PARSE(s, columns,
// delimiter [, escape]) (sqlref): columns is a count (COLUMN1..n, VARCHAR)
// or a list 'name TYPE, ...'; missing fields are NULL, extra text goes to
// the last column, values convert to the column types (a failure is a
// runtime error).
func variableColumnLogParse(a []expr) (expr, error) {
	if !a[1].konst || !a[2].konst {
		return expr{}, errorf("the columns and the delimiter must be constants")
	}
	var names []string
	var types []sqlType
	switch c := a[1].f(nil).(type) {
	case int64:
		if c < 1 || c > 1000 {
			return expr{}, errorf("bad column count %d", c)
		}
		for i := int64(1); i <= c; i++ {
			names = append(names, "COLUMN"+toString(i))
			types = append(types, tVarchar)
		}
	case string:
		for _, part := range splitTopLevel(c) {
			f := strings.Fields(part)
			if len(f) == 0 {
				continue
			}
			t := tVarchar
			if len(f) > 1 {
				pt, err := parseType(strings.Join(f[1:], " "))
				if err != nil {
					return expr{}, err
				}
				t = pt
			}
			names = append(names, strings.ToUpper(f[0]))
			types = append(types, t)
		}
	default:
		return expr{}, errorf("columns must be a count or a column list")
	}
	delim, _ := a[2].f(nil).(string)
	if delim == "" {
		return expr{}, errorf("the delimiter must not be empty")
	}
	x := a[0].f
	return expr{f: func(v *env) any {
		s, ok := x(v).(string)
		if !ok {
			return nil
		}
		parts := strings.SplitN(s, delim, len(names))
		out := make([]any, len(names))
		for i, p := range parts {
			c, err := castTo(p, types[i])
			if err != nil {
				return v.fail(errConversion, "column %s: %v", names[i], err)
			}
			out[i] = c
		}
		return out
	}, t: rowType(names, types)}, nil
}

// splitTopLevel splits "a VARCHAR(4), b DECIMAL(8,2)" at commas outside
// parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
