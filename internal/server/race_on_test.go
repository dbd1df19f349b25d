//go:build race

package server_test

// raceOverhead scales the memory bounds of tests: under the race detector
// every live byte costs several in RSS (shadow memory).
const raceOverhead = 3
