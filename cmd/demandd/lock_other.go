//go:build !unix

package main

// lockFile does nothing where flock(2) does not exist: one serve per
// SQLite database is then the operator's care.
func lockFile(string) (release func(), err error) { return func() {}, nil }
