package kdasql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind classifies a token.
type tokenKind int

const (
	tEOF       tokenKind = iota
	tIdent               // unquoted identifier or keyword; text folded to upper case
	tQIdent              // "quoted" identifier; text is the unescaped name
	tInt                 // 123
	tDecimal             // 1.5, .5, 1.
	tFloat               // 1.5E10
	tString              // 'text'; text is the unescaped value
	tUString             // U&'text'; text is the decoded value
	tBinString           // X'0AFF'; text is the hex digits
	tOp                  // punctuation and operators: ( ) , ; . * + - / || = <> != < <= > >= :
)

// token is one lexeme with its position and the source text it came from.
type token struct {
	kind tokenKind
	text string // folded/unescaped value (see tokenKind)
	raw  string // the source text, for error messages
	pos  Pos
}

// is reports whether t is the unquoted keyword or operator s.
func (t token) is(s string) bool {
	return (t.kind == tIdent || t.kind == tOp) && t.text == s
}

// lexer turns source text into tokens. Columns count runes, starting at 1.
type lexer struct {
	src  string
	off  int
	line int
	col  int
}

// lexAll returns every token of src, ending with an EOF token.
func lexAll(src string) ([]token, error) {
	lx := &lexer{src: src, line: 1, col: 1}
	var toks []token
	for {
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

func (lx *lexer) peekByte(k int) byte {
	if lx.off+k < len(lx.src) {
		return lx.src[lx.off+k]
	}
	return 0
}

// advance moves past one rune, keeping line and column.
func (lx *lexer) advance() rune {
	r, n := utf8.DecodeRuneInString(lx.src[lx.off:])
	lx.off += n
	if r == '\n' {
		lx.line++
		lx.col = 1
	} else {
		lx.col++
	}
	return r
}

func (lx *lexer) pos() Pos { return Pos{Line: lx.line, Col: lx.col} }

// skipSpace skips white space and the three comment forms: -- and // to the
// end of the line, /* ... */ (not nested).
func (lx *lexer) skipSpace() error {
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			lx.advance()
		case (c == '-' && lx.peekByte(1) == '-') || (c == '/' && lx.peekByte(1) == '/'):
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.advance()
			}
		case c == '/' && lx.peekByte(1) == '*':
			start := lx.pos()
			lx.advance()
			lx.advance()
			for {
				if lx.off >= len(lx.src) {
					return errAt(start, "unterminated comment: /* has no matching */")
				}
				if lx.src[lx.off] == '*' && lx.peekByte(1) == '/' {
					lx.advance()
					lx.advance()
					break
				}
				lx.advance()
			}
		default:
			r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
			if r != utf8.RuneError && unicode.IsSpace(r) {
				lx.advance()
				continue
			}
			return nil
		}
	}
	return nil
}

func isIdentStart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r) || r == '#'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (lx *lexer) next() (token, error) {
	if err := lx.skipSpace(); err != nil {
		return token{}, err
	}
	start := lx.pos()
	startOff := lx.off
	mk := func(k tokenKind, text string) token {
		return token{kind: k, text: text, raw: lx.src[startOff:lx.off], pos: start}
	}
	if lx.off >= len(lx.src) {
		return token{kind: tEOF, raw: "<EOF>", pos: start}, nil
	}
	c := lx.src[lx.off]
	switch {
	case c == '\'':
		s, err := lx.quoted('\'')
		if err != nil {
			return token{}, err
		}
		return mk(tString, s), nil
	case c == '"':
		s, err := lx.quoted('"')
		if err != nil {
			return token{}, err
		}
		if s == "" {
			return token{}, errAt(start, "zero-length delimited identifier")
		}
		return mk(tQIdent, s), nil
	case (c == 'u' || c == 'U') && lx.peekByte(1) == '&' && lx.peekByte(2) == '\'':
		lx.advance()
		lx.advance()
		s, err := lx.quoted('\'')
		if err != nil {
			return token{}, err
		}
		v, err := decodeUnicode(s)
		if err != nil {
			return token{}, errAt(start, err.Error())
		}
		return mk(tUString, v), nil
	case (c == 'x' || c == 'X') && lx.peekByte(1) == '\'':
		lx.advance()
		s, err := lx.quoted('\'')
		if err != nil {
			return token{}, err
		}
		for _, r := range s {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return token{}, errAt(start, "binary literal X'...' may hold only hexadecimal digits")
			}
		}
		return mk(tBinString, strings.ToUpper(s)), nil
	case isDigit(c) || (c == '.' && isDigit(lx.peekByte(1))):
		return lx.number(start, startOff)
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
	if isIdentStart(r) {
		for lx.off < len(lx.src) {
			r, _ := utf8.DecodeRuneInString(lx.src[lx.off:])
			if !isIdentPart(r) {
				break
			}
			lx.advance()
		}
		return mk(tIdent, strings.ToUpper(lx.src[startOff:lx.off])), nil
	}
	two := ""
	if lx.off+1 < len(lx.src) {
		two = lx.src[lx.off : lx.off+2]
	}
	switch two {
	case "||", "<>", "!=", "<=", ">=":
		lx.advance()
		lx.advance()
		return mk(tOp, two), nil
	}
	switch c {
	case '(', ')', ',', ';', '.', '*', '+', '-', '/', '=', '<', '>', ':', '[', ']', '?':
		lx.advance()
		return mk(tOp, string(c)), nil
	}
	lx.advance()
	return token{}, errAt(start, "Lexical error: unexpected character "+quoteRune(r))
}

func quoteRune(r rune) string {
	if r == utf8.RuneError {
		return "(invalid UTF-8)"
	}
	return `"` + string(r) + `"`
}

// quoted reads a literal delimited by q, where a doubled q stands for one.
func (lx *lexer) quoted(q byte) (string, error) {
	start := lx.pos()
	lx.advance() // opening quote
	var b strings.Builder
	for {
		if lx.off >= len(lx.src) {
			if q == '"' {
				return "", errAt(start, "unterminated quoted identifier")
			}
			return "", errAt(start, "unterminated string literal")
		}
		c := lx.src[lx.off]
		if c == q {
			lx.advance()
			if lx.off < len(lx.src) && lx.src[lx.off] == q {
				lx.advance()
				b.WriteByte(q)
				continue
			}
			return b.String(), nil
		}
		r := lx.advance()
		b.WriteRune(r)
	}
}

func (lx *lexer) number(start Pos, startOff int) (token, error) {
	kind := tInt
	for lx.off < len(lx.src) && isDigit(lx.src[lx.off]) {
		lx.advance()
	}
	if lx.off < len(lx.src) && lx.src[lx.off] == '.' {
		kind = tDecimal
		lx.advance()
		for lx.off < len(lx.src) && isDigit(lx.src[lx.off]) {
			lx.advance()
		}
	}
	if c := lx.peekByte(0); c == 'e' || c == 'E' {
		d := lx.peekByte(1)
		if isDigit(d) || ((d == '+' || d == '-') && isDigit(lx.peekByte(2))) {
			kind = tFloat
			lx.advance()
			if d == '+' || d == '-' {
				lx.advance()
			}
			for lx.off < len(lx.src) && isDigit(lx.src[lx.off]) {
				lx.advance()
			}
		}
	}
	if lx.off < len(lx.src) {
		if r, _ := utf8.DecodeRuneInString(lx.src[lx.off:]); isIdentStart(r) {
			return token{}, errAt(start, "Lexical error: a number may not run into a name: "+lx.src[startOff:lx.off]+string(r))
		}
	}
	text := lx.src[startOff:lx.off]
	return token{kind: kind, text: strings.ToUpper(text), raw: text, pos: start}, nil
}

// decodeUnicode decodes the body of a U&'...' literal: \XXXX and \+XXXXXX
// are code points in hex, \\ is a backslash.
func decodeUnicode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			b.WriteByte('\\')
			i += 2
			continue
		}
		n, skip := 4, 1
		if i+1 < len(s) && s[i+1] == '+' {
			n, skip = 6, 2
		}
		if i+skip+n > len(s) {
			return "", errBadUnicode
		}
		var v rune
		for _, c := range s[i+skip : i+skip+n] {
			d := strings.IndexRune("0123456789abcdef", unicode.ToLower(c))
			if d < 0 {
				return "", errBadUnicode
			}
			v = v*16 + rune(d)
		}
		if !utf8.ValidRune(v) {
			return "", errBadUnicode
		}
		b.WriteRune(v)
		i += skip + n
	}
	return b.String(), nil
}

type lexErr string

func (e lexErr) Error() string { return string(e) }

const errBadUnicode = lexErr(`invalid Unicode escape in U&'...' literal: use \XXXX or \+XXXXXX (hex) or \\`)
