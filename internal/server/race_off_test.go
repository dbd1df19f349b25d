//go:build !race

package server_test

// raceOverhead scales the memory bounds of tests: 1 without the race
// detector.
const raceOverhead = 1
