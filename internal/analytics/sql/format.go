package kdasql

import (
	"fmt"
	"strconv"
	"strings"
)

// Format prints n as SQL on one line (a Script puts each statement on its own
// line, ending in a semicolon). Unquoted identifiers print in their folded
// upper case, quoted ones quoted, and parentheses are added only where
// precedence needs them, so parsing the output gives back the same tree
// (positions aside).
func Format(n Node) string {
	var p printer
	p.node(n)
	return p.String()
}

type printer struct{ strings.Builder }

func (p *printer) node(n Node) {
	switch n := n.(type) {
	case *Script:
		for _, s := range n.Stmts {
			p.node(s)
			p.WriteString(";\n")
		}
	case Stmt:
		p.stmt(n)
	case Query:
		p.query(n)
	case Source:
		p.source(n)
	case Expr:
		p.expr(n, precOr)
	case *Ident:
		p.ident(n)
	case *Type:
		p.typ(n)
	case *ColumnDef:
		p.ident(n.Name)
		p.WriteByte(' ')
		p.typ(n.Type)
		if n.NotNull {
			p.WriteString(" NOT NULL")
		}
	case *Param:
		p.ident(n.Name)
		p.WriteByte(' ')
		p.typ(n.Type)
	case *SelectItem:
		p.selectItem(n)
	case *OrderBy:
		p.orderBy(n)
	case *OrderItem:
		p.orderItem(n)
	case *Stagger:
		p.stagger(n)
	case *WindowDef:
		p.ident(n.Name)
		p.WriteString(" AS ")
		p.windowSpec(n.Spec)
	case *WindowSpec:
		p.windowSpec(n)
	case *Over:
		p.over(n)
	case *Frame:
		p.frame(n)
	case *Bound:
		p.bound(n)
	case *When:
		p.WriteString("WHEN ")
		p.expr(n.Cond, precOr)
		p.WriteString(" THEN ")
		p.expr(n.Result, precOr)
	case *IntervalQualifier:
		p.qualifier(n)
	default:
		fmt.Fprintf(p, "<unknown node %T>", n)
	}
}

func (p *printer) ident(id *Ident) {
	if id.Quoted {
		p.WriteByte('"')
		p.WriteString(strings.ReplaceAll(id.Name, `"`, `""`))
		p.WriteByte('"')
		return
	}
	p.WriteString(id.Name)
}

func (p *printer) idents(ids []*Ident) {
	for k, id := range ids {
		if k > 0 {
			p.WriteString(", ")
		}
		p.ident(id)
	}
}

func (p *printer) name(n *Name) {
	for k, id := range n.Parts {
		if k > 0 {
			p.WriteByte('.')
		}
		p.ident(id)
	}
}

func (p *printer) typ(t *Type) {
	p.WriteString(t.Name)
	if len(t.Args) > 0 {
		p.ints(t.Args)
	}
}

func (p *printer) ints(xs []int) {
	p.WriteByte('(')
	for k, x := range xs {
		if k > 0 {
			p.WriteString(", ")
		}
		p.WriteString(strconv.Itoa(x))
	}
	p.WriteByte(')')
}

func (p *printer) stmt(s Stmt) {
	orReplace := func(b bool) {
		p.WriteString("CREATE ")
		if b {
			p.WriteString("OR REPLACE ")
		}
	}
	switch s := s.(type) {
	case *CreateStream:
		orReplace(s.OrReplace)
		p.WriteString("STREAM ")
		p.name(s.Name)
		p.WriteString(" (")
		for k, c := range s.Columns {
			if k > 0 {
				p.WriteString(", ")
			}
			p.node(c)
		}
		p.WriteByte(')')
		if s.Description != nil {
			p.WriteString(" DESCRIPTION ")
			p.str(s.Description)
		}
	case *CreatePump:
		orReplace(s.OrReplace)
		p.WriteString("PUMP ")
		p.name(s.Name)
		p.WriteString(" AS ")
		p.stmt(s.Insert)
	case *Insert:
		p.WriteString("INSERT ")
		if s.Expedited {
			p.WriteString("EXPEDITED ")
		}
		p.WriteString("INTO ")
		p.name(s.Target)
		if len(s.Columns) > 0 {
			p.WriteString(" (")
			p.idents(s.Columns)
			p.WriteByte(')')
		}
		p.WriteByte(' ')
		p.query(s.Query)
	case *CreateFunction:
		orReplace(s.OrReplace)
		p.WriteString("FUNCTION ")
		p.name(s.Name)
		p.WriteByte('(')
		for k, prm := range s.Params {
			if k > 0 {
				p.WriteString(", ")
			}
			p.node(prm)
		}
		p.WriteString(") RETURNS ")
		p.typ(s.Returns)
		for _, o := range s.Options {
			p.WriteByte(' ')
			p.WriteString(o)
		}
		p.WriteString(" RETURN ")
		p.expr(s.Body, precOr)
	case *QueryStmt:
		p.query(s.Query)
	}
}

func hasOrder(q Query) bool {
	switch q := q.(type) {
	case *Select:
		return q.Order != nil
	case *SetOp:
		return q.Order != nil
	}
	return false
}

func (p *printer) query(q Query) {
	switch q := q.(type) {
	case *Select:
		p.selectBlock(q)
	case *SetOp:
		p.queryOperand(q.Left, hasOrder(q.Left))
		p.WriteByte(' ')
		p.WriteString(q.Op)
		if q.Quantifier != "" {
			p.WriteByte(' ')
			p.WriteString(q.Quantifier)
		}
		p.WriteByte(' ')
		_, nested := q.Right.(*SetOp)
		p.queryOperand(q.Right, nested || hasOrder(q.Right))
		if q.Order != nil {
			p.WriteByte(' ')
			p.orderBy(q.Order)
		}
	}
}

func (p *printer) queryOperand(q Query, paren bool) {
	if paren {
		p.WriteByte('(')
	}
	p.query(q)
	if paren {
		p.WriteByte(')')
	}
}

func (p *printer) selectBlock(s *Select) {
	p.WriteString("SELECT ")
	if s.Stream {
		p.WriteString("STREAM ")
	}
	if s.Quantifier != "" {
		p.WriteString(s.Quantifier)
		p.WriteByte(' ')
	}
	for k, it := range s.Items {
		if k > 0 {
			p.WriteString(", ")
		}
		p.selectItem(it)
	}
	if s.From != nil {
		p.WriteString(" FROM ")
		p.source(s.From)
	}
	if s.Where != nil {
		p.WriteString(" WHERE ")
		p.expr(s.Where, precOr)
	}
	if len(s.GroupBy) > 0 {
		p.WriteString(" GROUP BY ")
		p.exprs(s.GroupBy)
	}
	if s.Stagger != nil {
		p.WriteByte(' ')
		p.stagger(s.Stagger)
	}
	if s.Having != nil {
		p.WriteString(" HAVING ")
		p.expr(s.Having, precOr)
	}
	if len(s.Windows) > 0 {
		p.WriteString(" WINDOW ")
		for k, w := range s.Windows {
			if k > 0 {
				p.WriteString(", ")
			}
			p.node(w)
		}
	}
	if s.Order != nil {
		p.WriteByte(' ')
		p.orderBy(s.Order)
	}
}

func (p *printer) selectItem(it *SelectItem) {
	p.expr(it.Expr, precOr)
	if it.Alias != nil {
		p.WriteString(" AS ")
		p.ident(it.Alias)
	}
}

func (p *printer) stagger(s *Stagger) {
	p.WriteString("WINDOWED BY STAGGER (PARTITION BY ")
	p.exprs(s.PartitionBy)
	p.WriteString(" RANGE ")
	p.expr(s.Range, precUnary)
	p.WriteByte(')')
}

func (p *printer) orderBy(o *OrderBy) {
	p.WriteString("ORDER BY ")
	p.orderItems(o.Items)
	if o.Within != nil {
		p.WriteString(" WITHIN ")
		p.expr(o.Within, precUnary)
	}
}

func (p *printer) orderItems(items []*OrderItem) {
	for k, it := range items {
		if k > 0 {
			p.WriteString(", ")
		}
		p.orderItem(it)
	}
}

func (p *printer) orderItem(it *OrderItem) {
	p.expr(it.Expr, precOr)
	if it.Dir != "" {
		p.WriteByte(' ')
		p.WriteString(it.Dir)
	}
}

func (p *printer) over(o *Over) {
	p.WriteString("OVER ")
	if o.Spec != nil {
		p.windowSpec(o.Spec)
		return
	}
	p.ident(o.Name)
}

func (p *printer) windowSpec(w *WindowSpec) {
	var parts []string
	if w.Base != nil {
		parts = append(parts, Format(w.Base))
	}
	if len(w.PartitionBy) > 0 {
		var q printer
		q.exprs(w.PartitionBy)
		parts = append(parts, "PARTITION BY "+q.String())
	}
	if len(w.OrderBy) > 0 {
		var q printer
		q.orderItems(w.OrderBy)
		parts = append(parts, "ORDER BY "+q.String())
	}
	if w.Frame != nil {
		parts = append(parts, Format(w.Frame))
	}
	p.WriteByte('(')
	p.WriteString(strings.Join(parts, " "))
	p.WriteByte(')')
}

func (p *printer) frame(f *Frame) {
	p.WriteString(f.Unit)
	p.WriteByte(' ')
	if f.End != nil {
		p.WriteString("BETWEEN ")
		p.bound(f.Start)
		p.WriteString(" AND ")
		p.bound(f.End)
		return
	}
	p.bound(f.Start)
}

func (p *printer) bound(b *Bound) {
	switch b.Kind {
	case CurrentRow:
		p.WriteString("CURRENT ROW")
	case UnboundedPreceding:
		p.WriteString("UNBOUNDED PRECEDING")
	case UnboundedFollowing:
		p.WriteString("UNBOUNDED FOLLOWING")
	case Preceding, Following:
		p.expr(b.Offset, precUnary)
		if b.Kind == Preceding {
			p.WriteString(" PRECEDING")
		} else {
			p.WriteString(" FOLLOWING")
		}
	}
}

func (p *printer) alias(a Alias) {
	if a.Over != nil {
		p.WriteByte(' ')
		p.over(a.Over)
	}
	if a.Name != nil {
		p.WriteString(" AS ")
		p.ident(a.Name)
		if len(a.Columns) > 0 {
			p.WriteString(" (")
			p.idents(a.Columns)
			p.WriteByte(')')
		}
	}
}

func (p *printer) source(s Source) {
	switch s := s.(type) {
	case *TableRef:
		p.name(s.Name)
		p.alias(s.Alias)
	case *SubquerySource:
		p.WriteByte('(')
		p.query(s.Query)
		p.WriteByte(')')
		p.alias(s.Alias)
	case *TableFunc:
		p.WriteString("TABLE(")
		p.expr(s.Call, precOr)
		p.WriteByte(')')
		p.alias(s.Alias)
	case *Join:
		p.source(s.Left)
		if s.Kind == "," {
			p.WriteString(", ")
			p.source(s.Right)
			return
		}
		p.WriteByte(' ')
		if s.Natural {
			p.WriteString("NATURAL ")
		}
		if !s.Implicit {
			p.WriteString(s.Kind)
			p.WriteByte(' ')
			if s.Outer {
				p.WriteString("OUTER ")
			}
		}
		p.WriteString("JOIN ")
		p.source(s.Right)
		if s.On != nil {
			p.WriteString(" ON ")
			p.expr(s.On, precOr)
		}
		if len(s.Using) > 0 {
			p.WriteString(" USING (")
			p.idents(s.Using)
			p.WriteByte(')')
		}
	}
}

func (p *printer) exprs(es []Expr) {
	for k, e := range es {
		if k > 0 {
			p.WriteString(", ")
		}
		p.expr(e, precOr)
	}
}

// exprPrec is the binding power of e's outermost operator.
func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		return binaryPrec[e.Op]
	case *Unary:
		if e.Op == "NOT" {
			return precNot
		}
		return precUnary
	case *IsExpr, *Between, *InExpr, *LikeExpr:
		return precCompare
	}
	return precPrimary
}

// expr prints e, in parentheses when its operator binds less tightly than
// min requires.
func (p *printer) expr(e Expr, min int) {
	if exprPrec(e) < min {
		p.WriteByte('(')
		defer p.WriteByte(')')
	}
	switch e := e.(type) {
	case *Name:
		p.name(e)
	case *Star:
		for _, q := range e.Qualifier {
			p.ident(q)
			p.WriteByte('.')
		}
		p.WriteByte('*')
	case *NumberLit:
		p.WriteString(e.Text)
	case *StringLit:
		p.str(e)
	case *BinaryLit:
		p.WriteString("X'" + e.Hex + "'")
	case *KeywordLit:
		p.WriteString(e.Word)
	case *TypedLit:
		p.WriteString(e.Type)
		p.WriteByte(' ')
		p.str(&StringLit{Value: e.Value})
	case *IntervalLit:
		p.WriteString("INTERVAL ")
		if e.Negative {
			p.WriteByte('-')
		}
		p.str(&StringLit{Value: e.Value})
		p.WriteByte(' ')
		p.qualifier(e.Unit)
	case *Unary:
		p.WriteString(e.Op)
		if _, ok := e.X.(*Unary); ok || e.Op == "NOT" {
			p.WriteByte(' ')
		}
		if e.Op == "NOT" {
			p.expr(e.X, precCompare)
		} else {
			p.expr(e.X, precUnary)
		}
	case *Binary:
		prec := binaryPrec[e.Op]
		p.expr(e.L, prec)
		p.WriteByte(' ')
		p.WriteString(e.Op)
		p.WriteByte(' ')
		p.expr(e.R, prec+1)
	case *IsExpr:
		p.expr(e.X, precCompare)
		p.WriteString(" IS ")
		if e.Not {
			p.WriteString("NOT ")
		}
		p.WriteString(e.What)
	case *Between:
		p.expr(e.X, precCompare)
		p.not(e.Not)
		p.WriteString(" BETWEEN ")
		p.expr(e.Lo, precAdd)
		p.WriteString(" AND ")
		p.expr(e.Hi, precAdd)
	case *InExpr:
		p.expr(e.X, precCompare)
		p.not(e.Not)
		p.WriteString(" IN (")
		if e.Query != nil {
			p.query(e.Query)
		} else {
			p.exprs(e.List)
		}
		p.WriteByte(')')
	case *LikeExpr:
		p.expr(e.X, precCompare)
		p.not(e.Not)
		p.WriteByte(' ')
		p.WriteString(e.Op)
		p.WriteByte(' ')
		p.expr(e.Pattern, precAdd)
		if e.Escape != nil {
			p.WriteString(" ESCAPE ")
			p.expr(e.Escape, precAdd)
		}
	case *Case:
		p.WriteString("CASE")
		if e.Operand != nil {
			p.WriteByte(' ')
			p.expr(e.Operand, precOr)
		}
		for _, w := range e.Whens {
			p.WriteByte(' ')
			p.node(w)
		}
		if e.Else != nil {
			p.WriteString(" ELSE ")
			p.expr(e.Else, precOr)
		}
		p.WriteString(" END")
	case *Cast:
		p.WriteString("CAST(")
		p.expr(e.X, precOr)
		p.WriteString(" AS ")
		p.typ(e.Type)
		p.WriteByte(')')
	case *FuncCall:
		p.name(e.Name)
		p.WriteByte('(')
		switch {
		case e.Star:
			p.WriteByte('*')
		default:
			if e.Quantifier != "" {
				p.WriteString(e.Quantifier)
				p.WriteByte(' ')
			}
			p.exprs(e.Args)
		}
		p.WriteByte(')')
		if e.Nulls != "" {
			p.WriteByte(' ')
			p.WriteString(e.Nulls)
		}
		if e.Over != nil {
			p.WriteByte(' ')
			p.over(e.Over)
		}
	case *Step:
		p.WriteString("STEP(")
		p.expr(e.X, precOr)
		p.WriteString(" BY ")
		p.expr(e.By, precOr)
		p.WriteByte(')')
	case *FloorCeil:
		p.WriteString(e.Fn)
		p.WriteByte('(')
		p.expr(e.X, precOr)
		p.WriteString(" TO ")
		p.WriteString(e.Unit)
		p.WriteByte(')')
	case *Extract:
		p.WriteString("EXTRACT(" + e.Unit + " FROM ")
		p.expr(e.X, precOr)
		p.WriteByte(')')
	case *PositionExpr:
		p.WriteString("POSITION(")
		p.expr(e.Sub, precAdd)
		p.WriteString(" IN ")
		p.expr(e.In, precOr)
		p.WriteByte(')')
	case *Substring:
		p.WriteString("SUBSTRING(")
		p.expr(e.X, precOr)
		sep, forSep := " FROM ", " FOR "
		if e.Comma {
			sep, forSep = ", ", ", "
		}
		p.WriteString(sep)
		p.expr(e.From, precOr)
		if e.For != nil {
			p.WriteString(forSep)
			p.expr(e.For, precOr)
		}
		p.WriteByte(')')
	case *Trim:
		p.WriteString("TRIM(")
		if e.Where != "" {
			p.WriteString(e.Where)
			p.WriteByte(' ')
		}
		if e.Char != nil {
			p.expr(e.Char, precOr)
			p.WriteByte(' ')
		}
		if e.From {
			p.WriteString("FROM ")
		}
		p.expr(e.X, precOr)
		p.WriteByte(')')
	case *Overlay:
		p.WriteString("OVERLAY(")
		p.expr(e.X, precOr)
		p.WriteString(" PLACING ")
		p.expr(e.Placing, precOr)
		p.WriteString(" FROM ")
		p.expr(e.From, precOr)
		if e.For != nil {
			p.WriteString(" FOR ")
			p.expr(e.For, precOr)
		}
		p.WriteByte(')')
	case *CurrentTime:
		p.WriteString(e.Name)
	case *Cursor:
		p.WriteString("CURSOR(")
		p.query(e.Query)
		p.WriteByte(')')
	case *Subquery:
		p.WriteByte('(')
		p.query(e.Query)
		p.WriteByte(')')
	case *Exists:
		p.WriteString("EXISTS (")
		p.query(e.Query)
		p.WriteByte(')')
	case *RowCtor:
		p.WriteString("ROW(")
		p.exprs(e.Items)
		p.WriteByte(')')
	default:
		fmt.Fprintf(p, "<unknown expression %T>", e)
	}
}

func (p *printer) not(b bool) {
	if b {
		p.WriteString(" NOT")
	}
}

func (p *printer) qualifier(q *IntervalQualifier) {
	p.WriteString(q.Start)
	if len(q.StartPrec) > 0 {
		p.ints(q.StartPrec)
	}
	if q.End != "" {
		p.WriteString(" TO ")
		p.WriteString(q.End)
		if len(q.EndPrec) > 0 {
			p.ints(q.EndPrec)
		}
	}
}

// str prints a string literal; U&'…' literals escape the backslash, control
// characters and everything outside printable ASCII as \XXXX or \+XXXXXX.
func (p *printer) str(s *StringLit) {
	if !s.Unicode {
		p.WriteByte('\'')
		p.WriteString(strings.ReplaceAll(s.Value, "'", "''"))
		p.WriteByte('\'')
		return
	}
	p.WriteString("U&'")
	for _, r := range s.Value {
		switch {
		case r == '\\':
			p.WriteString(`\\`)
		case r == '\'':
			p.WriteString("''")
		case r >= 0x20 && r < 0x7f:
			p.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(p, `\%04X`, r)
		default:
			fmt.Fprintf(p, `\+%06X`, r)
		}
	}
	p.WriteByte('\'')
}

// String methods: every node prints itself with Format.

func (n *Ident) String() string             { return Format(n) }
func (n *Name) String() string              { return Format(n) }
func (n *Script) String() string            { return Format(n) }
func (n *CreateStream) String() string      { return Format(n) }
func (n *ColumnDef) String() string         { return Format(n) }
func (n *CreatePump) String() string        { return Format(n) }
func (n *Insert) String() string            { return Format(n) }
func (n *CreateFunction) String() string    { return Format(n) }
func (n *Param) String() string             { return Format(n) }
func (n *QueryStmt) String() string         { return Format(n) }
func (n *Type) String() string              { return Format(n) }
func (n *Select) String() string            { return Format(n) }
func (n *SetOp) String() string             { return Format(n) }
func (n *SelectItem) String() string        { return Format(n) }
func (n *OrderBy) String() string           { return Format(n) }
func (n *OrderItem) String() string         { return Format(n) }
func (n *Stagger) String() string           { return Format(n) }
func (n *WindowDef) String() string         { return Format(n) }
func (n *WindowSpec) String() string        { return Format(n) }
func (n *Over) String() string              { return Format(n) }
func (n *Frame) String() string             { return Format(n) }
func (n *Bound) String() string             { return Format(n) }
func (n *TableRef) String() string          { return Format(n) }
func (n *SubquerySource) String() string    { return Format(n) }
func (n *TableFunc) String() string         { return Format(n) }
func (n *Join) String() string              { return Format(n) }
func (n *Star) String() string              { return Format(n) }
func (n *NumberLit) String() string         { return Format(n) }
func (n *StringLit) String() string         { return Format(n) }
func (n *BinaryLit) String() string         { return Format(n) }
func (n *KeywordLit) String() string        { return Format(n) }
func (n *TypedLit) String() string          { return Format(n) }
func (n *IntervalLit) String() string       { return Format(n) }
func (n *IntervalQualifier) String() string { return Format(n) }
func (n *Unary) String() string             { return Format(n) }
func (n *Binary) String() string            { return Format(n) }
func (n *IsExpr) String() string            { return Format(n) }
func (n *Between) String() string           { return Format(n) }
func (n *InExpr) String() string            { return Format(n) }
func (n *LikeExpr) String() string          { return Format(n) }
func (n *Case) String() string              { return Format(n) }
func (n *When) String() string              { return Format(n) }
func (n *Cast) String() string              { return Format(n) }
func (n *FuncCall) String() string          { return Format(n) }
func (n *Step) String() string              { return Format(n) }
func (n *FloorCeil) String() string         { return Format(n) }
func (n *Extract) String() string           { return Format(n) }
func (n *PositionExpr) String() string      { return Format(n) }
func (n *Substring) String() string         { return Format(n) }
func (n *Trim) String() string              { return Format(n) }
func (n *Overlay) String() string           { return Format(n) }
func (n *CurrentTime) String() string       { return Format(n) }
func (n *Cursor) String() string            { return Format(n) }
func (n *Subquery) String() string          { return Format(n) }
func (n *Exists) String() string            { return Format(n) }
func (n *RowCtor) String() string           { return Format(n) }
