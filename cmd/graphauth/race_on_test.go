//go:build race

package main

// raceEnabled tells the crash test to build the app with -race too.
const raceEnabled = true
