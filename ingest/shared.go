package ingest

// Shared is implemented by a source that may run in every `serve` process
// sharing a database at once: webhook intake, where every request is its
// own and the database keeps each item once. Every other source is polled
// state — a mailbox's UID cursor, a folder's files — and the engine runs it
// in one process at a time, under the lease named by LeaseKey.
type Shared interface {
	Source
	// Shared reports whether the source may run in every process.
	Shared() bool
}

// IsShared reports whether src may run in every process at once.
func IsShared(src Source) bool {
	s, ok := src.(Shared)
	return ok && s.Shared()
}

// LeaseKey is the lease a polled source runs under: its name, unique among
// the sources of one configuration, so processes given the same
// configuration share each source by name.
func LeaseKey(src Source) string { return "source/" + src.Name() }
