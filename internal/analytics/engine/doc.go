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
// ORDER BY within a ROWTIME bucket and the T-sort; the table functions over
// CURSOR (tablefunc.go): TOP_K_ITEMS_TUMBLING, COUNT_DISTINCT_ITEMS_TUMBLING
// (exact to 10,000 items, then HyperLogLog; sketch.go), RANDOM_CUT_FOREST
// and RANDOM_CUT_FOREST_WITH_EXPLANATION (a seeded robust random cut
// forest; rcf.go), HOTSPOTS (DBSCAN over a sliding window; hotspots.go).
// Each file writes down the reference's parameter ranges and output
// columns next to the code.
// Expressions compile to closures over an env; nothing in the row path
// reflects or builds maps per row.
//
// Semantic choices, each written down again next to its code:
//
//   - Tumbling windows (developer guide tumbling-window-concepts): the first
//     ROWTIME-monotonic GROUP BY key (STEP/FLOOR/CEIL of ROWTIME, or ROWTIME)
//     is the window; the result's ROWTIME is the window end; groups of one
//     window leave in first-seen order. A GROUP BY without such a key is a
//     compile error (§4).
//   - Sliding windows: frame [t−n, t] inclusive for RANGE, the current row
//     and n before it for ROWS (§4, sqlref window-examples); one output row
//     per input row; WHERE filters before the window; LAG counts rows inside
//     the frame.
//   - Stagger windows: open at the first row of a key, emit at open+n with
//     ROWTIME open+n (stagger-window-concepts, whose printed results show
//     11:01:20 for a window opened at 11:00:20).
//   - Joins: a stream row meets a reference table's current rows; windowed
//     stream joins pair rows when the later one arrives, output ROWTIME =
//     the later row's; unmatched outer rows leave when their window ends.
//   - AVG of integers truncates; SUM/AVG/MIN/MAX of nothing is NULL;
//     integer division truncates; division by zero (integer or floating)
//     is a runtime error; CAST to an integer truncates; DECIMAL(p,s) rounds
//     half away from zero; VARCHAR(n) truncates on CAST and on INSERT.
//   - CURRENT_ROW_TIMESTAMP is the row's ROWTIME (the processing time it
//     entered at); CURRENT_TIMESTAMP and friends are the Start time.
//   - error_stream rows: ERROR_TIME is the processing clock, ERROR_LEVEL
//     "ERROR", ERROR_NAME one of DivisionByZero, ConversionError,
//     EvaluationError, RowtimeOutOfOrder (our names: the reference gives
//     none), DATA_ROW the hex of the row's values as a JSON array.
//   - Insert moves the processing clock to the row's ROWTIME when it is
//     later (ROWTIME is the time a row enters the application, §3).
//
// What the package must not do: I/O, goroutines, wall-clock reads, or
// knowledge of the API and the outputs' destinations. A Program is
// immutable and may be started many times; an Instance is not safe for
// concurrent use.
//
// Not supported yet (Compile reports them with line and column): the
// Group Rank table function, W3C_LOG_PARSE's IIS format (the reference
// gives no specifiers for it), joins of more than two sources, IN/EXISTS
// subqueries, SELECT DISTINCT, EXP_AVG. The log parsers (REGEX_LOG_PARSE,
// FAST_REGEX_LOG_PARSER, VARIABLE_COLUMN_LOG_PARSE in funcs.go;
// W3C_LOG_PARSE, SYS_LOG_PARSE, FIXED_COLUMN_LOG_PARSE in logparse.go)
// return ROWs.
package engine
