package kdasql

import (
	"fmt"
	"strings"
)

// Error is a syntax error in application code, with the 1-based line and
// column where it was found. The API layer reports it as a
// CodeValidationException.
//
// Wording. KDA's parser is SQLstream s-Server's, a JavaCC grammar from the
// Eigenbase/Farrago lineage that Apache Calcite also descends from. We found
// no verbatim KDA CodeValidationException text in the docs, pages, code or
// issues corpora (searches for "CodeValidationException" with "SQL error",
// "Encountered", "Was expecting" found only the exception's name in SDKs and
// the terraform-provider-aws issue #8128 about validation, without a message).
// The closest evidence is the JavaCC message shape shared by that lineage
// (Derby/Splice: `Syntax error: Encountered "DECIMAL" at line 3, column 23.`
// followed by `Was expecting:`), and Calcite's validator wording
// `At line {0}, column {1}: ...` for errors at a point. So a syntax error
// reads
//
//	Encountered "FORM" at line 2, column 10.
//	Was expecting one of:
//	    "FROM" ...
//	    "," ...
//
// and any other error (lexical, or a construct the dialect refuses) reads
// `At line 2, column 10: <message>`. Callers branch on the fields, never on
// the text.
type Error struct {
	Line   int // 1-based line of the offending token
	Column int // 1-based column (in characters) of the offending token
	// Encountered is the offending token as written ("<EOF>" at the end of
	// input); empty for errors that are not about an unexpected token.
	Encountered string
	// Expected lists what the grammar would have accepted, quoted, when the
	// parser knows it.
	Expected []string
	// Msg describes errors that are not about an unexpected token.
	Msg string
}

// Error formats the error in the JavaCC/Calcite shape described on the type.
func (e *Error) Error() string {
	if e.Encountered == "" {
		return fmt.Sprintf("At line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Encountered \"%s\" at line %d, column %d.", e.Encountered, e.Line, e.Column)
	if e.Msg != "" {
		b.WriteString(" ")
		b.WriteString(e.Msg)
	}
	if len(e.Expected) > 0 {
		b.WriteString("\nWas expecting one of:")
		for _, x := range e.Expected {
			b.WriteString("\n    ")
			b.WriteString(x)
			b.WriteString(" ...")
		}
	}
	return b.String()
}

// errAt builds a non-token error at p.
func errAt(p Pos, msg string) *Error {
	return &Error{Line: p.Line, Column: p.Col, Msg: msg}
}
