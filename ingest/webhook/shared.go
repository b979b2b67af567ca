package webhook

import "github.com/demandd/demandd/ingest"

var _ ingest.Shared = (*Server)(nil)

// Shared implements ingest.Shared: every `serve` process takes webhook
// deliveries; a delivery sent twice, to one process or two, is stored once.
func (s *Server) Shared() bool { return true }
