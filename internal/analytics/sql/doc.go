// Package kdasql owns the syntax of the Kinesis Data Analytics for SQL
// dialect (the SQLstream s-Server dialect KDA runs): a hand-written lexer, a
// recursive-descent parser with Pratt-style expression parsing, the AST it
// produces (every node carries its 1-based line and column) and a printer
// that writes the AST back as SQL.
//
// Entry points: Parse reads application code (statements separated by
// semicolons) into a *Script; ParseQuery and ParseExpr read a single query or
// expression; Format (and every node's String method) prints SQL back, so
// that parse → print → parse yields the same tree.
//
// What the package does not do: name resolution, type checking, the
// streaming rules (monotonic GROUP BY keys, window legality beyond what the
// grammar shows, join windows), planning or execution. Those belong to the
// validator and planner that consume this AST. The package is a leaf: it
// imports only the standard library, has no global state and is safe for
// concurrent use (each Parse call owns its own lexer and parser).
//
// Syntax errors are *Error values with Line and Column, worded like the
// CodeValidationException text KDA returned (see Error).
package kdasql
