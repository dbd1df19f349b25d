package kdasql

// Expression parsing: precedence climbing over binding powers, lowest first.
const (
	precOr      = 1
	precAnd     = 2
	precNot     = 3 // prefix NOT
	precCompare = 4 // = <> != < <= > >=, IS, BETWEEN, IN, LIKE, SIMILAR TO
	precAdd     = 5 // + -
	precMul     = 6 // * / || (|| binds like * as in Calcite)
	precUnary   = 7 // prefix - +
	precPrimary = 10
)

var binaryPrec = map[string]int{
	"OR": precOr, "AND": precAnd,
	"=": precCompare, "<>": precCompare, "!=": precCompare, "<": precCompare,
	"<=": precCompare, ">": precCompare, ">=": precCompare,
	"+": precAdd, "-": precAdd, "*": precMul, "/": precMul, "||": precMul,
}

func (p *parser) expr() Expr { return p.binary(precOr) }

// unary parses a prefix-signed primary: the operand of frame bounds, WITHIN
// and STAGGER's RANGE.
func (p *parser) unary() Expr { return p.binary(precUnary) }

// binary parses an expression whose operators all bind at least as tightly
// as min.
func (p *parser) binary(min int) Expr {
	defer p.nest()()
	left := p.prefix(min)
	for {
		t := p.cur()
		if t.kind != tIdent && t.kind != tOp {
			return left
		}
		if prec, ok := binaryPrec[t.text]; ok && prec >= min {
			p.advance()
			right := p.binary(prec + 1)
			left = &Binary{Pos: left.Position(), Op: t.text, L: left, R: right}
			continue
		}
		if min > precCompare || t.kind != tIdent {
			return left
		}
		not := false
		if t.is("NOT") {
			n := p.peek(1)
			if !n.is("BETWEEN") && !n.is("IN") && !n.is("LIKE") && !n.is("SIMILAR") {
				return left
			}
			p.advance()
			not = true
		}
		switch c := p.cur(); {
		case c.is("IS"):
			p.advance()
			is := &IsExpr{Pos: left.Position(), X: left, Not: p.accept("NOT")}
			w := p.cur()
			if !w.is("NULL") && !w.is("TRUE") && !w.is("FALSE") && !w.is("UNKNOWN") {
				p.unexpected("NULL", "TRUE", "FALSE", "UNKNOWN", "NOT")
			}
			p.advance()
			is.What = w.text
			left = is
		case c.is("BETWEEN"):
			p.advance()
			b := &Between{Pos: left.Position(), X: left, Not: not}
			b.Lo = p.binary(precAdd)
			p.expect("AND")
			b.Hi = p.binary(precAdd)
			left = b
		case c.is("IN"):
			p.advance()
			in := &InExpr{Pos: left.Position(), X: left, Not: not}
			p.expect("(")
			if p.cur().is("SELECT") {
				in.Query = p.query()
			} else {
				in.List = p.exprList()
			}
			p.expect(")")
			left = in
		case c.is("LIKE") || c.is("SIMILAR"):
			p.advance()
			lk := &LikeExpr{Pos: left.Position(), X: left, Not: not, Op: "LIKE"}
			if c.is("SIMILAR") {
				p.expect("TO")
				lk.Op = "SIMILAR TO"
			}
			lk.Pattern = p.binary(precAdd)
			if p.accept("ESCAPE") {
				lk.Escape = p.binary(precAdd)
			}
			left = lk
		default:
			return left
		}
	}
}

func (p *parser) prefix(min int) Expr {
	t := p.cur()
	switch {
	case t.is("NOT") && min <= precNot:
		p.advance()
		return &Unary{Pos: t.pos, Op: "NOT", X: p.binary(precCompare)}
	case t.is("-") || t.is("+"):
		p.advance()
		return &Unary{Pos: t.pos, Op: t.text, X: p.binary(precUnary)}
	}
	return p.primary()
}

func (p *parser) primary() Expr {
	t := p.cur()
	switch t.kind {
	case tInt, tDecimal, tFloat:
		p.advance()
		k := IntLit
		if t.kind == tDecimal {
			k = DecimalLit
		} else if t.kind == tFloat {
			k = FloatLit
		}
		return &NumberLit{Pos: t.pos, Kind: k, Text: t.text}
	case tString, tUString:
		p.advance()
		return &StringLit{Pos: t.pos, Value: t.text, Unicode: t.kind == tUString}
	case tBinString:
		p.advance()
		return &BinaryLit{Pos: t.pos, Hex: t.text}
	case tQIdent:
		return p.nameOrCall()
	case tOp:
		if t.is("(") {
			p.advance()
			if p.cur().is("SELECT") {
				q := p.query()
				p.expect(")")
				return &Subquery{Pos: t.pos, Query: q}
			}
			e := p.expr()
			p.expect(")")
			return e
		}
		p.unexpected("<EXPRESSION>")
	case tEOF:
		p.unexpected("<EXPRESSION>")
	}
	// An unquoted word.
	w := t.text
	next := p.peek(1)
	switch {
	case w == "TRUE" || w == "FALSE" || w == "NULL" || w == "UNKNOWN":
		p.advance()
		return &KeywordLit{Pos: t.pos, Word: w}
	case (w == "DATE" || w == "TIME" || w == "TIMESTAMP") && next.kind == tString:
		p.advance()
		p.advance()
		return &TypedLit{Pos: t.pos, Type: w, Value: next.text}
	case w == "INTERVAL":
		return p.interval()
	case w == "CASE":
		return p.caseExpr()
	case niladic[w]:
		p.advance()
		return &CurrentTime{Pos: t.pos, Name: w}
	case w == "CAST":
		p.advance()
		p.expect("(")
		c := &Cast{Pos: t.pos, X: p.expr()}
		p.expect("AS")
		c.Type = p.dataType()
		p.expect(")")
		return c
	case w == "CURSOR":
		p.advance()
		p.expect("(")
		if !p.cur().is("SELECT") && !p.cur().is("(") {
			p.unexpected("SELECT")
		}
		c := &Cursor{Pos: t.pos, Query: p.query()}
		p.expect(")")
		return c
	case w == "EXISTS":
		p.advance()
		p.expect("(")
		e := &Exists{Pos: t.pos, Query: p.query()}
		p.expect(")")
		return e
	}
	if next.is("(") {
		switch w {
		case "ROW":
			p.advance()
			p.advance()
			r := &RowCtor{Pos: t.pos, Items: p.exprList()}
			p.expect(")")
			return r
		case "STEP":
			p.advance()
			p.advance()
			s := &Step{Pos: t.pos, X: p.expr()}
			p.expect("BY")
			s.By = p.expr()
			p.expect(")")
			return s
		case "FLOOR", "CEIL", "CEILING":
			return p.floorCeil()
		case "EXTRACT":
			p.advance()
			p.advance()
			e := &Extract{Pos: t.pos, Unit: p.unit(timeUnits)}
			p.expect("FROM")
			e.X = p.expr()
			p.expect(")")
			return e
		case "POSITION":
			p.advance()
			p.advance()
			e := &PositionExpr{Pos: t.pos, Sub: p.binary(precAdd)}
			p.expect("IN")
			e.In = p.expr()
			p.expect(")")
			return e
		case "SUBSTRING":
			return p.substring()
		case "TRIM":
			return p.trim()
		case "OVERLAY":
			p.advance()
			p.advance()
			o := &Overlay{Pos: t.pos, X: p.expr()}
			p.expect("PLACING")
			o.Placing = p.expr()
			p.expect("FROM")
			o.From = p.expr()
			if p.accept("FOR") {
				o.For = p.expr()
			}
			p.expect(")")
			return o
		}
	}
	if reserved[w] {
		p.unexpected("<EXPRESSION>")
	}
	return p.nameOrCall()
}

// unit parses one unit word from the allowed set.
func (p *parser) unit(allowed map[string]bool) string {
	t := p.cur()
	if t.kind != tIdent || !allowed[t.text] {
		p.unexpected("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")
	}
	p.advance()
	return t.text
}

func (p *parser) interval() Expr {
	t := p.expect("INTERVAL")
	iv := &IntervalLit{Pos: t.pos}
	if p.accept("-") {
		iv.Negative = true
	} else {
		p.accept("+")
	}
	s := p.cur()
	if s.kind != tString {
		p.unexpected("<STRING_LITERAL>")
	}
	p.advance()
	iv.Value = s.text
	q := &IntervalQualifier{Pos: p.cur().pos, Start: p.unit(intervalUnits)}
	if p.cur().is("(") {
		p.advance()
		q.StartPrec = p.intList()
		p.expect(")")
	}
	if p.accept("TO") {
		q.End = p.unit(intervalUnits)
		if p.cur().is("(") {
			p.advance()
			q.EndPrec = p.intList()
			p.expect(")")
		}
	}
	iv.Unit = q
	return iv
}

func (p *parser) caseExpr() Expr {
	t := p.expect("CASE")
	c := &Case{Pos: t.pos}
	if !p.cur().is("WHEN") {
		c.Operand = p.expr()
	}
	for p.cur().is("WHEN") {
		wt := p.advance()
		w := &When{Pos: wt.pos, Cond: p.expr()}
		p.expect("THEN")
		w.Result = p.expr()
		c.Whens = append(c.Whens, w)
	}
	if len(c.Whens) == 0 {
		p.unexpected("WHEN")
	}
	if p.accept("ELSE") {
		c.Else = p.expr()
	}
	if !p.accept("END") {
		p.unexpected("END", "WHEN", "ELSE")
	}
	return c
}

func (p *parser) floorCeil() Expr {
	t := p.advance()
	p.expect("(")
	x := p.expr()
	if p.accept("TO") {
		f := &FloorCeil{Pos: t.pos, Fn: t.text, X: x, Unit: p.unit(timeUnits)}
		p.expect(")")
		return f
	}
	call := &FuncCall{Pos: t.pos, Name: &Name{Pos: t.pos, Parts: []*Ident{{Pos: t.pos, Name: t.text}}}, Args: []Expr{x}}
	for p.accept(",") {
		call.Args = append(call.Args, p.expr())
	}
	p.expect(")")
	p.callSuffix(call)
	return call
}

func (p *parser) substring() Expr {
	t := p.advance()
	p.expect("(")
	s := &Substring{Pos: t.pos, X: p.expr()}
	switch {
	case p.accept("FROM"):
		s.From = p.expr()
		if p.accept("FOR") {
			s.For = p.expr()
		}
	case p.accept(","):
		s.Comma = true
		s.From = p.expr()
		if p.accept(",") {
			s.For = p.expr()
		}
	default:
		p.unexpected("FROM", ",")
	}
	p.expect(")")
	return s
}

func (p *parser) trim() Expr {
	t := p.advance()
	p.expect("(")
	tr := &Trim{Pos: t.pos}
	if c := p.cur(); (c.is("BOTH") || c.is("LEADING") || c.is("TRAILING")) && !p.peek(1).is(")") && !p.peek(1).is(",") {
		p.advance()
		tr.Where = c.text
	}
	if p.accept("FROM") {
		tr.From = true
		tr.X = p.expr()
	} else {
		first := p.expr()
		if p.accept("FROM") {
			tr.From = true
			tr.Char = first
			tr.X = p.expr()
		} else {
			if tr.Where != "" {
				p.unexpected("FROM")
			}
			tr.X = first
		}
	}
	p.expect(")")
	return tr
}

// nameOrCall parses a (qualified) name, a qualified star or a function call.
func (p *parser) nameOrCall() Expr {
	n := &Name{Pos: p.cur().pos}
	first := p.ident()
	n.Parts = []*Ident{first}
	for p.cur().is(".") {
		nt := p.peek(1)
		switch {
		case nt.kind == tIdent || nt.kind == tQIdent:
			p.advance()
			p.advance()
			n.Parts = append(n.Parts, &Ident{Pos: nt.pos, Name: nt.text, Quoted: nt.kind == tQIdent})
		case nt.is("*"):
			p.advance()
			p.advance()
			return &Star{Pos: n.Pos, Qualifier: n.Parts}
		default:
			p.advance()
			p.unexpected("<IDENTIFIER>", "*")
		}
	}
	if !p.cur().is("(") {
		return n
	}
	p.advance()
	call := &FuncCall{Pos: n.Pos, Name: n}
	if p.cur().is("*") && p.peek(1).is(")") {
		p.advance()
		call.Star = true
	} else if !p.cur().is(")") {
		if p.accept("DISTINCT") {
			call.Quantifier = "DISTINCT"
		} else if p.accept("ALL") {
			call.Quantifier = "ALL"
		}
		call.Args = p.exprList()
	}
	p.expect(")")
	p.callSuffix(call)
	return call
}

// callSuffix parses [IGNORE|RESPECT NULLS] [OVER window] after a call.
func (p *parser) callSuffix(call *FuncCall) {
	switch {
	case p.acceptSeq("IGNORE", "NULLS"):
		call.Nulls = "IGNORE NULLS"
	case p.acceptSeq("RESPECT", "NULLS"):
		call.Nulls = "RESPECT NULLS"
	}
	if p.cur().is("OVER") {
		call.Over = p.over()
	}
}
