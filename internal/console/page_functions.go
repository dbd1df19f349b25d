package console

// functionsPage is Functions: functions with runtime, handler and state; a
// function's configuration; an invocation with a test payload showing the
// result and the log tail; event source mappings with their state and last
// result. Through the Lambda REST API.
var functionsPage = Page{ID: "functions", Title: "Functions", Group: "Compute", Service: "lambda", Module: "pages/functions.js"}
