package kdasql

// Pos is a 1-based line and column (in characters) in the source. Every node
// embeds one: the position of the node's first token.
type Pos struct {
	Line int
	Col  int
}

// Position returns p; embedding Pos gives every node this method.
func (p Pos) Position() Pos { return p }

// Node is any AST node.
type Node interface {
	Position() Pos
	String() string
}

// Ident is one identifier. Unquoted identifiers are folded to upper case;
// quoted ones keep their case (Quoted is true).
type Ident struct {
	Pos
	Name   string
	Quoted bool
}

// Name is a possibly qualified name: stream, column, s.col, t.rec.column1.
type Name struct {
	Pos
	Parts []*Ident
}

// Script is a whole application code: its statements in order.
type Script struct {
	Pos
	Stmts []Stmt
}

// Stmt is a top-level statement.
type Stmt interface {
	Node
	stmt()
}

// CreateStream is CREATE [OR REPLACE] STREAM name (col type [NOT NULL], …)
// [DESCRIPTION '…'].
type CreateStream struct {
	Pos
	OrReplace   bool
	Name        *Name
	Columns     []*ColumnDef
	Description *StringLit // nil when absent
}

// ColumnDef is one column of CREATE STREAM.
type ColumnDef struct {
	Pos
	Name    *Ident
	Type    *Type
	NotNull bool
}

// CreatePump is CREATE [OR REPLACE] PUMP name AS INSERT ….
type CreatePump struct {
	Pos
	OrReplace bool
	Name      *Name
	Insert    *Insert
}

// Insert is INSERT [EXPEDITED] INTO stream [(cols)] query; it appears in a
// pump or as a statement of its own.
type Insert struct {
	Pos
	Expedited bool
	Target    *Name
	Columns   []*Ident
	Query     Query
}

// CreateFunction is a SQL scalar UDF: CREATE [OR REPLACE] FUNCTION f(p type,
// …) RETURNS type [options] RETURN expr.
type CreateFunction struct {
	Pos
	OrReplace bool
	Name      *Name
	Params    []*Param
	Returns   *Type
	// Options are the routine characteristics in source order, each as its
	// canonical words: "CONTAINS SQL", "NO SQL", "READS SQL DATA",
	// "DETERMINISTIC", "NOT DETERMINISTIC", "RETURNS NULL ON NULL INPUT",
	// "CALLED ON NULL INPUT", "LANGUAGE SQL".
	Options []string
	Body    Expr
}

// Param is one parameter of CREATE FUNCTION.
type Param struct {
	Pos
	Name *Ident
	Type *Type
}

// QueryStmt is a bare query used as a statement (SELECT STREAM …).
type QueryStmt struct {
	Pos
	Query Query
}

func (*CreateStream) stmt()   {}
func (*CreatePump) stmt()     {}
func (*Insert) stmt()         {}
func (*CreateFunction) stmt() {}
func (*QueryStmt) stmt()      {}

// Type is a SQL data type as written. Name is canonical upper case with
// single spaces ("DOUBLE PRECISION", "CHARACTER VARYING"); synonyms are kept
// as written (INT is not rewritten to INTEGER) so printing is faithful.
type Type struct {
	Pos
	Name string
	Args []int // (length) or (precision[, scale]); empty when absent
}

// Query is a SELECT or a set operation over queries.
type Query interface {
	Node
	query()
}

// Select is one SELECT block.
type Select struct {
	Pos
	Stream     bool   // SELECT STREAM
	Quantifier string // "", "ALL" or "DISTINCT"
	Items      []*SelectItem
	From       Source // nil when there is no FROM
	Where      Expr
	GroupBy    []Expr
	Stagger    *Stagger // WINDOWED BY STAGGER (…)
	Having     Expr
	Windows    []*WindowDef
	Order      *OrderBy
}

// SetOp is left UNION|INTERSECT|EXCEPT [ALL|DISTINCT] right.
type SetOp struct {
	Pos
	Op         string // "UNION", "INTERSECT", "EXCEPT"
	Quantifier string // "", "ALL" or "DISTINCT"
	Left       Query
	Right      Query
	Order      *OrderBy // ORDER BY applying to the whole set operation
}

func (*Select) query() {}
func (*SetOp) query()  {}

// SelectItem is one item of the select list: an expression (possibly a *Star)
// with an optional alias (AS ROWTIME included).
type SelectItem struct {
	Pos
	Expr  Expr
	Alias *Ident
}

// OrderBy is ORDER BY items [WITHIN interval] (the WITHIN form is the T-sort).
type OrderBy struct {
	Pos
	Items  []*OrderItem
	Within Expr
}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	Pos
	Expr Expr
	Dir  string // "", "ASC" or "DESC"
}

// Stagger is WINDOWED BY STAGGER (PARTITION BY keys RANGE INTERVAL …).
type Stagger struct {
	Pos
	PartitionBy []Expr
	Range       Expr
}

// WindowDef is one `name AS (spec)` of the WINDOW clause.
type WindowDef struct {
	Pos
	Name *Ident
	Spec *WindowSpec
}

// WindowSpec is the inside of OVER (…) or WINDOW w AS (…).
type WindowSpec struct {
	Pos
	Base        *Ident // OVER (w …): a named window refined here; rare
	PartitionBy []Expr
	OrderBy     []*OrderItem
	Frame       *Frame
}

// Over is OVER name or OVER (spec): exactly one of Name and Spec is set.
type Over struct {
	Pos
	Name *Ident
	Spec *WindowSpec
}

// Frame is RANGE|ROWS bound or RANGE|ROWS BETWEEN bound AND bound.
type Frame struct {
	Pos
	Unit  string // "RANGE" or "ROWS"
	Start *Bound
	End   *Bound // nil unless BETWEEN
}

// BoundKind is the shape of a frame bound.
type BoundKind int

// Frame bound shapes.
const (
	CurrentRow         BoundKind = iota // CURRENT ROW
	Preceding                           // n PRECEDING
	Following                           // n FOLLOWING
	UnboundedPreceding                  // UNBOUNDED PRECEDING
	UnboundedFollowing                  // UNBOUNDED FOLLOWING (the parser refuses it)
)

// Bound is one end of a window frame.
type Bound struct {
	Pos
	Kind   BoundKind
	Offset Expr // the n of n PRECEDING/FOLLOWING: an integer or an interval literal
}

// Source is an item of the FROM clause.
type Source interface {
	Node
	source()
}

// Alias is the correlation part of a FROM item: [OVER window] [AS] alias
// [(col, …)]. Over is the window on a join side.
type Alias struct {
	Over    *Over
	Name    *Ident
	Columns []*Ident
}

// TableRef names a stream or table.
type TableRef struct {
	Pos
	Name *Name
	Alias
}

// SubquerySource is (query) in FROM.
type SubquerySource struct {
	Pos
	Query Query
	Alias
}

// TableFunc is TABLE(fn(args…)) in FROM, e.g. TABLE(TOP_K_ITEMS_TUMBLING(
// CURSOR(SELECT STREAM …), 'col', 5, 60)).
type TableFunc struct {
	Pos
	Call *FuncCall
	Alias
}

// Join is left [kind] JOIN right [ON cond | USING (cols)], or a comma list.
type Join struct {
	Pos
	// Kind is "INNER", "LEFT", "RIGHT", "FULL", "CROSS" or "," (a comma
	// join). Plain JOIN is "INNER" with Implicit set.
	Kind     string
	Outer    bool // LEFT|RIGHT|FULL OUTER JOIN spelled with OUTER
	Implicit bool // JOIN without INNER
	Natural  bool
	Left     Source
	Right    Source
	On       Expr
	Using    []*Ident
}

func (*TableRef) source()       {}
func (*SubquerySource) source() {}
func (*TableFunc) source()      {}
func (*Join) source()           {}

// Expr is an expression.
type Expr interface {
	Node
	expr()
}

// Star is * or qualifier.* in a select list.
type Star struct {
	Pos
	Qualifier []*Ident
}

// NumKind distinguishes numeric literal forms.
type NumKind int

// Numeric literal forms.
const (
	IntLit     NumKind = iota // 12
	DecimalLit                // 1.5
	FloatLit                  // 1.5E3
)

// NumberLit is an unsigned numeric literal as written (upper-cased exponent).
type NumberLit struct {
	Pos
	Kind NumKind
	Text string
}

// StringLit is 'text' (Unicode false) or U&'text' (Unicode true); Value is
// unescaped.
type StringLit struct {
	Pos
	Value   string
	Unicode bool
}

// BinaryLit is X'hex'; Hex is upper case.
type BinaryLit struct {
	Pos
	Hex string
}

// KeywordLit is TRUE, FALSE, NULL or UNKNOWN.
type KeywordLit struct {
	Pos
	Word string
}

// TypedLit is DATE 'x', TIME 'x' or TIMESTAMP 'x'.
type TypedLit struct {
	Pos
	Type  string
	Value string
}

// IntervalLit is INTERVAL [sign] 'value' qualifier.
type IntervalLit struct {
	Pos
	Negative bool // INTERVAL -'1' DAY
	Value    string
	Unit     *IntervalQualifier
}

// IntervalQualifier is unit [(p)] [TO unit [(p)]], e.g. HOUR TO MINUTE.
type IntervalQualifier struct {
	Pos
	Start     string // YEAR, MONTH, DAY, HOUR, MINUTE, SECOND
	StartPrec []int  // (p) or (p, s) after Start
	End       string // "" when there is no TO
	EndPrec   []int
}

// Unary is -x, +x or NOT x.
type Unary struct {
	Pos
	Op string
	X  Expr
}

// Binary is l op r for OR, AND, comparisons (=, <>, !=, <, <=, >, >=),
// +, -, *, / and ||.
type Binary struct {
	Pos
	Op   string
	L, R Expr
}

// IsExpr is x IS [NOT] NULL|TRUE|FALSE|UNKNOWN.
type IsExpr struct {
	Pos
	X    Expr
	Not  bool
	What string
}

// Between is x [NOT] BETWEEN lo AND hi.
type Between struct {
	Pos
	X, Lo, Hi Expr
	Not       bool
}

// InExpr is x [NOT] IN (list) or x [NOT] IN (query).
type InExpr struct {
	Pos
	X     Expr
	Not   bool
	List  []Expr
	Query Query // set instead of List for IN (SELECT …)
}

// LikeExpr is x [NOT] LIKE|SIMILAR TO pattern [ESCAPE e].
type LikeExpr struct {
	Pos
	X       Expr
	Not     bool
	Op      string // "LIKE" or "SIMILAR TO"
	Pattern Expr
	Escape  Expr
}

// Case is CASE [operand] WHEN … THEN … [ELSE …] END.
type Case struct {
	Pos
	Operand Expr // nil for a searched CASE
	Whens   []*When
	Else    Expr
}

// When is one WHEN cond THEN result.
type When struct {
	Pos
	Cond   Expr
	Result Expr
}

// Cast is CAST(x AS type).
type Cast struct {
	Pos
	X    Expr
	Type *Type
}

// FuncCall is name([DISTINCT|ALL] args | *) [IGNORE|RESPECT NULLS] [OVER …].
type FuncCall struct {
	Pos
	Name       *Name
	Quantifier string // "", "DISTINCT" or "ALL"
	Star       bool   // COUNT(*)
	Args       []Expr
	Nulls      string // "", "IGNORE NULLS" or "RESPECT NULLS"
	Over       *Over
}

// Step is STEP(x BY width).
type Step struct {
	Pos
	X  Expr
	By Expr
}

// FloorCeil is FLOOR(x TO unit) or CEIL/CEILING(x TO unit). FLOOR(x) without
// TO is a plain FuncCall.
type FloorCeil struct {
	Pos
	Fn   string // "FLOOR", "CEIL" or "CEILING"
	X    Expr
	Unit string
}

// Extract is EXTRACT(unit FROM x).
type Extract struct {
	Pos
	Unit string
	X    Expr
}

// PositionExpr is POSITION(sub IN s).
type PositionExpr struct {
	Pos
	Sub Expr
	In  Expr
}

// Substring is SUBSTRING(s FROM n [FOR m]) or SUBSTRING(s, n [, m]).
type Substring struct {
	Pos
	X     Expr
	From  Expr
	For   Expr // nil when absent
	Comma bool // written with commas
}

// Trim is TRIM([BOTH|LEADING|TRAILING] [char] FROM s) or TRIM(s).
type Trim struct {
	Pos
	Where string // "", "BOTH", "LEADING", "TRAILING"
	Char  Expr   // nil when absent
	X     Expr
	From  bool // written with FROM
}

// Overlay is OVERLAY(s PLACING r FROM n [FOR m]).
type Overlay struct {
	Pos
	X, Placing, From, For Expr
}

// CurrentTime is one of the niladic functions written without parentheses:
// CURRENT_DATE, CURRENT_TIME, CURRENT_TIMESTAMP, LOCALTIME, LOCALTIMESTAMP,
// CURRENT_ROW_TIMESTAMP.
type CurrentTime struct {
	Pos
	Name string
}

// Cursor is CURSOR(query), the argument of table functions.
type Cursor struct {
	Pos
	Query Query
}

// Subquery is a scalar (query) in an expression.
type Subquery struct {
	Pos
	Query Query
}

// Exists is EXISTS (query).
type Exists struct {
	Pos
	Query Query
}

// RowCtor is ROW(a, b, …).
type RowCtor struct {
	Pos
	Items []Expr
}

func (*Name) expr()         {}
func (*Star) expr()         {}
func (*NumberLit) expr()    {}
func (*StringLit) expr()    {}
func (*BinaryLit) expr()    {}
func (*KeywordLit) expr()   {}
func (*TypedLit) expr()     {}
func (*IntervalLit) expr()  {}
func (*Unary) expr()        {}
func (*Binary) expr()       {}
func (*IsExpr) expr()       {}
func (*Between) expr()      {}
func (*InExpr) expr()       {}
func (*LikeExpr) expr()     {}
func (*Case) expr()         {}
func (*Cast) expr()         {}
func (*FuncCall) expr()     {}
func (*Step) expr()         {}
func (*FloorCeil) expr()    {}
func (*Extract) expr()      {}
func (*PositionExpr) expr() {}
func (*Substring) expr()    {}
func (*Trim) expr()         {}
func (*Overlay) expr()      {}
func (*CurrentTime) expr()  {}
func (*Cursor) expr()       {}
func (*Subquery) expr()     {}
func (*Exists) expr()       {}
func (*RowCtor) expr()      {}
