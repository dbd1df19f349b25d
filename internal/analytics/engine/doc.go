// Package engine owns the execution of Kinesis Data Analytics SQL
// application code: it plans the statements kdasql parses into operators
// over in-app streams and runs them incrementally, one row at a time.
//
// The model (reference analytics.md §3, §4):
//
//   - Streams are pub/sub. Input streams (SOURCE_SQL_STREAM_001, …) are
//     given to Compile; CREATE STREAM adds more; every pump
//     (CREATE PUMP p AS INSERT INTO s SELECT STREAM …) is an operator that
//     reads one or two streams and inserts into one. A pump's output stream
//     can feed other pumps; operators run writer-first.
//   - ROWTIME is copied through (or set by an `expr AS ROWTIME` item); a row
//     whose ROWTIME is older than its stream's current time is dropped with
//     an error_stream row.
//   - Time is the caller's: Insert carries each row's ROWTIME and Advance
//     moves the processing clock. Tumbling windows (GROUP BY with a
//     STEP/FLOOR of ROWTIME), stagger windows and outer-join rows are
//     emitted when the clock, or a later row's ROWTIME, passes their end.
//   - Runtime errors (division by zero, failed conversions) write an
//     error_stream row and drop the row being computed.
//
// Operators, by query shape: stateless filter/project; sliding windows
// (aggregates OVER RANGE/ROWS, per-partition queues with running sums);
// tumbling GROUP BY (windows in a FIFO, groups by encoded key); STAGGER
// (per-key windows in a FIFO of deadlines); stream-to-table joins (hash
// index on an equality when there is one); windowed stream-to-stream joins;
// ORDER BY within a ROWTIME bucket and the T-sort; TOP_K_ITEMS_TUMBLING.
// Expressions compile to closures over an env; nothing in the row path
// reflects or builds maps per row.
//
// What the package must not do: I/O, goroutines, wall-clock reads, or
// knowledge of the API and the outputs' destinations. A Program is
// immutable and may be started many times; an Instance is not safe for
// concurrent use.
//
// Not supported yet (Compile reports them with line and column): table
// functions other than TOP_K_ITEMS_TUMBLING (RANDOM_CUT_FOREST, HOTSPOTS,
// COUNT_DISTINCT_ITEMS_TUMBLING, …), the log parsers other than
// REGEX_LOG_PARSE, FAST_REGEX_LOG_PARSER and VARIABLE_COLUMN_LOG_PARSE, joins of more than two
// sources, IN/EXISTS subqueries, SELECT DISTINCT, EXP_AVG.
package engine
