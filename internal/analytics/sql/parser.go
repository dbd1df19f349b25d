package kdasql

import (
	"strconv"
	"strings"
)

// Parse parses application code: zero or more statements separated by
// semicolons (a trailing semicolon is optional, empty statements are
// skipped). It returns the first syntax error as an *Error.
func Parse(src string) (script *Script, err error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	defer p.recover(&err)
	return p.script(), nil
}

// ParseQuery parses a single query (SELECT … or a set operation), optionally
// followed by a semicolon.
func ParseQuery(src string) (q Query, err error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	defer p.recover(&err)
	q = p.query()
	p.accept(";")
	p.expectEOF()
	return q, nil
}

// ParseExpr parses a single expression.
func ParseExpr(src string) (e Expr, err error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	defer p.recover(&err)
	e = p.expr()
	p.expectEOF()
	return e, nil
}

// parser is a recursive-descent parser over the token slice. Errors unwind
// with panic(bailout) and are turned back into an error by recover; no other
// panic is expected.
type parser struct {
	toks  []token
	i     int
	depth int // current nesting of expressions and queries
}

// maxDepth bounds nesting (parentheses, subqueries, operator chains on the
// right) so hostile input cannot exhaust the stack; real application code
// nests a handful of levels.
const maxDepth = 200

// nest enters one level of nesting; the caller defers the returned func.
func (p *parser) nest() func() {
	p.depth++
	if p.depth > maxDepth {
		p.failAt(p.cur().pos, "statement is nested too deeply (more than "+strconv.Itoa(maxDepth)+" levels)")
	}
	return func() { p.depth-- }
}

type bailout struct{ err *Error }

func newParser(src string) (*parser, error) {
	toks, err := lexAll(src)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks}, nil
}

func (p *parser) recover(err *error) {
	if r := recover(); r != nil {
		b, ok := r.(bailout)
		if !ok {
			panic(r)
		}
		*err = b.err
	}
}

// reserved words cannot be bare identifiers or aliases; quote them to use
// them as names.
var reserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ALL AND AS BETWEEN BY CASE CAST CREATE CROSS CURSOR
		CURRENT_DATE CURRENT_ROW_TIMESTAMP CURRENT_TIME CURRENT_TIMESTAMP DISTINCT ELSE END
		ESCAPE EXCEPT EXISTS FALSE FROM FULL GROUP HAVING IN INNER INSERT INTERSECT INTERVAL INTO IS
		JOIN LEFT LIKE LOCALTIME LOCALTIMESTAMP NATURAL NOT NULL ON OR ORDER OUTER OVER PARTITION
		RIGHT SELECT SIMILAR TABLE THEN TRUE UNION UNKNOWN USING VALUES WHEN WHERE WINDOW WINDOWED
		WITHIN`) {
		reserved[w] = true
	}
}

var niladic = map[string]bool{
	"CURRENT_DATE": true, "CURRENT_TIME": true, "CURRENT_TIMESTAMP": true,
	"LOCALTIME": true, "LOCALTIMESTAMP": true, "CURRENT_ROW_TIMESTAMP": true,
}

var intervalUnits = map[string]bool{
	"YEAR": true, "MONTH": true, "DAY": true, "HOUR": true, "MINUTE": true, "SECOND": true,
}

// timeUnits are the units FLOOR/CEIL … TO and EXTRACT accept syntactically.
var timeUnits = map[string]bool{
	"YEAR": true, "QUARTER": true, "MONTH": true, "WEEK": true, "DAY": true, "HOUR": true,
	"MINUTE": true, "SECOND": true, "MILLISECOND": true, "DOW": true, "DOY": true, "EPOCH": true,
}

func (p *parser) cur() token { return p.toks[p.i] }

func (p *parser) peek(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// accept consumes the current token if it is the keyword or operator s.
func (p *parser) accept(s string) bool {
	if p.cur().is(s) {
		p.advance()
		return true
	}
	return false
}

// acceptSeq consumes the keywords ws if they all follow, else nothing.
func (p *parser) acceptSeq(ws ...string) bool {
	for k, w := range ws {
		if !p.peek(k).is(w) {
			return false
		}
	}
	p.i += len(ws)
	return true
}

func (p *parser) expect(s string) token {
	if !p.cur().is(s) {
		p.unexpected(s)
	}
	return p.advance()
}

func (p *parser) expectEOF() {
	if p.cur().kind != tEOF {
		p.unexpected("<EOF>")
	}
}

// unexpected fails at the current token with what was expected.
func (p *parser) unexpected(expected ...string) {
	t := p.cur()
	qs := make([]string, len(expected))
	for k, e := range expected {
		if strings.HasPrefix(e, "<") {
			qs[k] = e
		} else {
			qs[k] = `"` + e + `"`
		}
	}
	panic(bailout{&Error{Line: t.pos.Line, Column: t.pos.Col, Encountered: t.raw, Expected: qs}})
}

func (p *parser) failAt(pos Pos, msg string) {
	panic(bailout{errAt(pos, msg)})
}

// isName reports whether t can be an identifier: quoted, or unquoted and not
// reserved.
func isName(t token) bool {
	return t.kind == tQIdent || (t.kind == tIdent && !reserved[t.text])
}

func (p *parser) ident() *Ident {
	t := p.cur()
	if !isName(t) {
		p.unexpected("<IDENTIFIER>", "<QUOTED_IDENTIFIER>")
	}
	p.advance()
	return &Ident{Pos: t.pos, Name: t.text, Quoted: t.kind == tQIdent}
}

// name parses ident {. ident}.
func (p *parser) name() *Name {
	id := p.ident()
	n := &Name{Pos: id.Pos, Parts: []*Ident{id}}
	for p.cur().is(".") && (p.peek(1).kind == tIdent || p.peek(1).kind == tQIdent) {
		p.advance()
		t := p.advance()
		n.Parts = append(n.Parts, &Ident{Pos: t.pos, Name: t.text, Quoted: t.kind == tQIdent})
	}
	return n
}

func (p *parser) identList() []*Ident {
	ids := []*Ident{p.ident()}
	for p.accept(",") {
		ids = append(ids, p.ident())
	}
	return ids
}

func (p *parser) script() *Script {
	s := &Script{Pos: p.cur().pos}
	for {
		for p.accept(";") {
		}
		if p.cur().kind == tEOF {
			return s
		}
		s.Stmts = append(s.Stmts, p.statement())
		if p.cur().kind != tEOF && !p.cur().is(";") {
			p.unexpected(";", "<EOF>")
		}
	}
}

func (p *parser) statement() Stmt {
	t := p.cur()
	switch {
	case t.is("CREATE"):
		p.advance()
		orReplace := p.acceptSeq("OR", "REPLACE")
		switch {
		case p.accept("STREAM"):
			return p.createStream(t.pos, orReplace)
		case p.accept("PUMP"):
			return p.createPump(t.pos, orReplace)
		case p.accept("FUNCTION"):
			return p.createFunction(t.pos, orReplace)
		}
		if orReplace {
			p.unexpected("STREAM", "PUMP", "FUNCTION")
		}
		p.unexpected("OR", "STREAM", "PUMP", "FUNCTION")
	case t.is("INSERT"):
		return p.insert()
	case t.is("SELECT") || t.is("("):
		return &QueryStmt{Pos: t.pos, Query: p.query()}
	}
	p.unexpected("CREATE", "INSERT", "SELECT")
	return nil
}

func (p *parser) createStream(pos Pos, orReplace bool) *CreateStream {
	s := &CreateStream{Pos: pos, OrReplace: orReplace, Name: p.name()}
	p.expect("(")
	for {
		c := &ColumnDef{Name: p.ident()}
		c.Pos = c.Name.Pos
		c.Type = p.dataType()
		if p.acceptSeq("NOT", "NULL") {
			c.NotNull = true
		}
		s.Columns = append(s.Columns, c)
		if p.accept(")") {
			break
		}
		if !p.accept(",") {
			p.unexpected(",", ")")
		}
	}
	if p.accept("DESCRIPTION") {
		t := p.cur()
		if t.kind != tString && t.kind != tUString {
			p.unexpected("<STRING_LITERAL>")
		}
		p.advance()
		s.Description = &StringLit{Pos: t.pos, Value: t.text, Unicode: t.kind == tUString}
	}
	return s
}

func (p *parser) createPump(pos Pos, orReplace bool) *CreatePump {
	s := &CreatePump{Pos: pos, OrReplace: orReplace, Name: p.name()}
	p.expect("AS")
	if !p.cur().is("INSERT") {
		p.unexpected("INSERT")
	}
	s.Insert = p.insert()
	return s
}

func (p *parser) insert() *Insert {
	t := p.expect("INSERT")
	in := &Insert{Pos: t.pos}
	in.Expedited = p.accept("EXPEDITED")
	p.expect("INTO")
	in.Target = p.name()
	if p.cur().is("(") && !p.peek(1).is("SELECT") && !p.peek(1).is("(") {
		p.advance()
		in.Columns = p.identList()
		p.expect(")")
	}
	if !p.cur().is("SELECT") && !p.cur().is("(") {
		p.unexpected("SELECT", "(")
	}
	in.Query = p.query()
	return in
}

func (p *parser) createFunction(pos Pos, orReplace bool) *CreateFunction {
	f := &CreateFunction{Pos: pos, OrReplace: orReplace, Name: p.name()}
	p.expect("(")
	if !p.accept(")") {
		for {
			prm := &Param{Name: p.ident()}
			prm.Pos = prm.Name.Pos
			prm.Type = p.dataType()
			f.Params = append(f.Params, prm)
			if p.accept(")") {
				break
			}
			if !p.accept(",") {
				p.unexpected(",", ")")
			}
		}
	}
	p.expect("RETURNS")
	f.Returns = p.dataType()
	for {
		var opt string
		switch {
		case p.acceptSeq("CONTAINS", "SQL"):
			opt = "CONTAINS SQL"
		case p.acceptSeq("NO", "SQL"):
			opt = "NO SQL"
		case p.acceptSeq("READS", "SQL", "DATA"):
			opt = "READS SQL DATA"
		case p.acceptSeq("DETERMINISTIC"):
			opt = "DETERMINISTIC"
		case p.acceptSeq("NOT", "DETERMINISTIC"):
			opt = "NOT DETERMINISTIC"
		case p.acceptSeq("RETURNS", "NULL", "ON", "NULL", "INPUT"):
			opt = "RETURNS NULL ON NULL INPUT"
		case p.acceptSeq("CALLED", "ON", "NULL", "INPUT"):
			opt = "CALLED ON NULL INPUT"
		case p.acceptSeq("LANGUAGE", "SQL"):
			opt = "LANGUAGE SQL"
		}
		if opt == "" {
			break
		}
		f.Options = append(f.Options, opt)
	}
	if !p.accept("RETURN") {
		p.unexpected("RETURN", "CONTAINS", "DETERMINISTIC", "RETURNS", "CALLED", "LANGUAGE")
	}
	f.Body = p.expr()
	return f
}

// typeArity gives the allowed number of parenthesised arguments per type.
var typeArity = map[string][2]int{
	"BOOLEAN": {0, 0}, "TINYINT": {0, 0}, "SMALLINT": {0, 0}, "INTEGER": {0, 0}, "INT": {0, 0},
	"BIGINT": {0, 0}, "REAL": {0, 0}, "DOUBLE": {0, 0}, "DOUBLE PRECISION": {0, 0}, "DATE": {0, 0},
	"FLOAT": {0, 1}, "TIME": {0, 1}, "TIMESTAMP": {0, 1},
	"CHAR": {0, 1}, "CHARACTER": {0, 1}, "VARCHAR": {0, 1}, "CHAR VARYING": {0, 1},
	"CHARACTER VARYING": {0, 1}, "BINARY": {0, 1}, "VARBINARY": {0, 1}, "BINARY VARYING": {0, 1},
	"DECIMAL": {0, 2}, "DEC": {0, 2}, "NUMERIC": {0, 2},
}

var typeNames = []string{"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT",
	"DECIMAL", "DEC", "NUMERIC", "REAL", "DOUBLE", "FLOAT", "CHAR", "CHARACTER", "VARCHAR",
	"BINARY", "VARBINARY", "DATE", "TIME", "TIMESTAMP"}

func (p *parser) dataType() *Type {
	t := p.cur()
	if t.kind != tIdent {
		p.unexpected(typeNames...)
	}
	name := t.text
	if _, ok := typeArity[name]; !ok {
		p.unexpected(typeNames...)
	}
	p.advance()
	switch name {
	case "DOUBLE":
		if p.accept("PRECISION") {
			name = "DOUBLE PRECISION"
		}
	case "CHAR", "CHARACTER", "BINARY":
		if p.accept("VARYING") {
			name += " VARYING"
		}
	}
	ty := &Type{Pos: t.pos, Name: name}
	if p.cur().is("(") {
		open := p.advance()
		ty.Args = p.intList()
		p.expect(")")
		if ar := typeArity[name]; len(ty.Args) > ar[1] {
			p.failAt(open.pos, "type "+name+" takes at most "+strconv.Itoa(ar[1])+" argument(s)")
		}
	}
	return ty
}

func (p *parser) intList() []int {
	var out []int
	for {
		t := p.cur()
		if t.kind != tInt {
			p.unexpected("<UNSIGNED_INTEGER_LITERAL>")
		}
		n, err := strconv.Atoi(t.text)
		if err != nil || n > 1<<31-1 {
			p.failAt(t.pos, "numeric literal '"+t.raw+"' out of range")
		}
		p.advance()
		out = append(out, n)
		if !p.accept(",") {
			return out
		}
	}
}

// query parses term {UNION|INTERSECT|EXCEPT [ALL|DISTINCT] term} [ORDER BY …].
func (p *parser) query() Query {
	defer p.nest()()
	left := p.queryTerm()
	for {
		t := p.cur()
		if !t.is("UNION") && !t.is("INTERSECT") && !t.is("EXCEPT") {
			break
		}
		p.advance()
		op := &SetOp{Pos: left.Position(), Op: t.text, Left: left}
		if p.accept("ALL") {
			op.Quantifier = "ALL"
		} else if p.accept("DISTINCT") {
			op.Quantifier = "DISTINCT"
		}
		op.Right = p.queryTerm()
		left = op
	}
	if p.cur().is("ORDER") {
		ob := p.orderBy()
		switch q := left.(type) {
		case *Select:
			if q.Order != nil {
				p.failAt(ob.Pos, "ORDER BY is already given for this query")
			}
			q.Order = ob
		case *SetOp:
			if q.Order != nil {
				p.failAt(ob.Pos, "ORDER BY is already given for this query")
			}
			q.Order = ob
		}
	}
	return left
}

func (p *parser) queryTerm() Query {
	if p.cur().is("(") {
		p.advance()
		q := p.query()
		p.expect(")")
		return q
	}
	if !p.cur().is("SELECT") {
		p.unexpected("SELECT", "(")
	}
	return p.selectBlock()
}

func (p *parser) orderBy() *OrderBy {
	t := p.expect("ORDER")
	p.expect("BY")
	ob := &OrderBy{Pos: t.pos, Items: p.orderItems()}
	if p.accept("WITHIN") {
		ob.Within = p.unary()
	}
	return ob
}

func (p *parser) orderItems() []*OrderItem {
	var items []*OrderItem
	for {
		e := p.expr()
		it := &OrderItem{Pos: e.Position(), Expr: e}
		if p.accept("ASC") {
			it.Dir = "ASC"
		} else if p.accept("DESC") {
			it.Dir = "DESC"
		}
		items = append(items, it)
		if !p.accept(",") {
			return items
		}
	}
}

func (p *parser) selectBlock() *Select {
	t := p.expect("SELECT")
	s := &Select{Pos: t.pos}
	s.Stream = p.accept("STREAM")
	if p.accept("ALL") {
		s.Quantifier = "ALL"
	} else if p.accept("DISTINCT") {
		s.Quantifier = "DISTINCT"
	}
	for {
		s.Items = append(s.Items, p.selectItem())
		if !p.accept(",") {
			break
		}
	}
	if p.accept("FROM") {
		s.From = p.from()
	}
	if p.accept("WHERE") {
		s.Where = p.expr()
	}
	if p.accept("GROUP") {
		p.expect("BY")
		s.GroupBy = p.exprList()
	}
	if p.cur().is("WINDOWED") {
		wt := p.advance()
		p.expect("BY")
		p.expect("STAGGER")
		p.expect("(")
		st := &Stagger{Pos: wt.pos}
		p.expect("PARTITION")
		p.expect("BY")
		st.PartitionBy = p.exprList()
		p.expect("RANGE")
		st.Range = p.unary()
		p.expect(")")
		s.Stagger = st
	}
	if p.accept("HAVING") {
		s.Having = p.expr()
	}
	if p.accept("WINDOW") {
		for {
			d := &WindowDef{Name: p.ident()}
			d.Pos = d.Name.Pos
			p.expect("AS")
			d.Spec = p.windowSpec()
			s.Windows = append(s.Windows, d)
			if !p.accept(",") {
				break
			}
		}
	}
	return s
}

func (p *parser) selectItem() *SelectItem {
	t := p.cur()
	if t.is("*") {
		p.advance()
		return &SelectItem{Pos: t.pos, Expr: &Star{Pos: t.pos}}
	}
	e := p.expr()
	it := &SelectItem{Pos: e.Position(), Expr: e}
	if p.accept("AS") {
		it.Alias = p.ident()
	} else if isName(p.cur()) {
		it.Alias = p.ident()
	}
	return it
}

func (p *parser) exprList() []Expr {
	es := []Expr{p.expr()}
	for p.accept(",") {
		es = append(es, p.expr())
	}
	return es
}

// from parses a FROM list: sources joined by commas or JOINs, left-deep.
func (p *parser) from() Source {
	left := p.sourcePrimary()
	for {
		t := p.cur()
		j := &Join{Pos: left.Position(), Left: left}
		switch {
		case t.is(","):
			p.advance()
			j.Kind = ","
			j.Right = p.sourcePrimary()
			left = j
			continue
		case t.is("NATURAL"):
			p.advance()
			j.Natural = true
		}
		k := p.cur()
		switch {
		case k.is("JOIN"):
			j.Kind, j.Implicit = "INNER", true
		case k.is("INNER"), k.is("CROSS"):
			p.advance()
			j.Kind = k.text
		case k.is("LEFT"), k.is("RIGHT"), k.is("FULL"):
			p.advance()
			j.Kind = k.text
			j.Outer = p.accept("OUTER")
		default:
			if j.Natural {
				p.unexpected("JOIN", "INNER", "LEFT", "RIGHT", "FULL")
			}
			return left
		}
		p.expect("JOIN")
		j.Right = p.sourcePrimary()
		if j.Kind != "CROSS" {
			if p.accept("ON") {
				j.On = p.expr()
			} else if p.accept("USING") {
				p.expect("(")
				j.Using = p.identList()
				p.expect(")")
			}
		}
		left = j
	}
}

func (p *parser) sourcePrimary() Source {
	t := p.cur()
	switch {
	case t.is("TABLE"):
		p.advance()
		p.expect("(")
		inner := p.cur()
		if !isName(inner) {
			p.unexpected("<IDENTIFIER>")
		}
		e := p.primary()
		call, ok := e.(*FuncCall)
		if !ok || call.Over != nil {
			p.failAt(inner.pos, "TABLE(…) must contain a function call")
		}
		p.expect(")")
		tf := &TableFunc{Pos: t.pos, Call: call}
		tf.Alias = p.alias()
		return tf
	case t.is("("):
		p.advance()
		if !p.cur().is("SELECT") && !p.cur().is("(") {
			p.unexpected("SELECT", "(")
		}
		q := p.query()
		p.expect(")")
		sq := &SubquerySource{Pos: t.pos, Query: q}
		sq.Alias = p.alias()
		return sq
	}
	if !isName(t) {
		p.unexpected("<IDENTIFIER>", "TABLE", "(")
	}
	tr := &TableRef{Pos: t.pos, Name: p.name()}
	tr.Alias = p.alias()
	return tr
}

// alias parses [OVER window] [[AS] name [(cols)]].
func (p *parser) alias() Alias {
	var a Alias
	if p.cur().is("OVER") {
		a.Over = p.over()
	}
	if p.accept("AS") {
		a.Name = p.ident()
	} else if isName(p.cur()) {
		a.Name = p.ident()
	}
	if a.Name != nil && p.accept("(") {
		a.Columns = p.identList()
		p.expect(")")
	}
	return a
}

func (p *parser) over() *Over {
	t := p.expect("OVER")
	o := &Over{Pos: t.pos}
	if p.cur().is("(") {
		o.Spec = p.windowSpec()
	} else {
		o.Name = p.ident()
	}
	return o
}

func (p *parser) windowSpec() *WindowSpec {
	t := p.expect("(")
	w := &WindowSpec{Pos: t.pos}
	if c := p.cur(); isName(c) && !c.is("RANGE") && !c.is("ROWS") {
		w.Base = p.ident()
	}
	if p.accept("PARTITION") {
		p.expect("BY")
		w.PartitionBy = p.exprList()
	}
	if p.accept("ORDER") {
		p.expect("BY")
		w.OrderBy = p.orderItems()
	}
	if c := p.cur(); c.is("RANGE") || c.is("ROWS") {
		p.advance()
		f := &Frame{Pos: c.pos, Unit: c.text}
		if p.accept("BETWEEN") {
			f.Start = p.bound()
			p.expect("AND")
			f.End = p.bound()
		} else {
			f.Start = p.bound()
		}
		w.Frame = f
	}
	if !p.accept(")") {
		p.unexpected(")", "PARTITION", "ORDER", "RANGE", "ROWS")
	}
	return w
}

func (p *parser) bound() *Bound {
	t := p.cur()
	b := &Bound{Pos: t.pos}
	switch {
	case p.acceptSeq("CURRENT", "ROW"):
		b.Kind = CurrentRow
	case p.acceptSeq("UNBOUNDED", "PRECEDING"):
		b.Kind = UnboundedPreceding
	case t.is("UNBOUNDED") && p.peek(1).is("FOLLOWING"):
		p.failAt(t.pos, "UNBOUNDED FOLLOWING is not supported: a window over a stream must end at CURRENT ROW")
	default:
		b.Offset = p.unary()
		switch {
		case p.accept("PRECEDING"):
			b.Kind = Preceding
		case p.accept("FOLLOWING"):
			b.Kind = Following
		default:
			p.unexpected("PRECEDING", "FOLLOWING")
		}
	}
	return b
}
