package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// Endpoints named to Options.Observe. Only these and configured source
// names become metric labels, never a path a client made up.
const (
	EndpointHook  = "hook"  // POST /hooks/{source} of a configured source
	EndpointAPI   = "api"   // /api/v1/
	EndpointOther = "other" // anything else: an unknown source or path
)

type requestIDKey struct{}

// RequestID is the id of the request ctx belongs to ("" outside one). It
// is the sender's X-Request-Id when that is a short token, else a random
// one; the answer carries it in X-Request-Id and every log line about the
// request names it, so a sender's report can be matched with the log.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID takes the sender's id when it is safe to log, else makes one.
func requestID(h string) string {
	if h != "" && len(h) <= 64 && strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == "" {
		return h
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request its id and reports its answer to
// Options.Observe and, at debug level, to the log (path only: a query
// string may carry a token).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		endpoint, source := EndpointOther, ""
		switch name, ok := strings.CutPrefix(r.URL.Path, "/hooks/"); {
		case ok && s.sources[name] != nil:
			endpoint, source = EndpointHook, name
		case strings.HasPrefix(r.URL.Path, "/api/v1/") && s.opts.API != nil:
			endpoint = EndpointAPI
		}
		if s.opts.Observe != nil {
			s.opts.Observe(endpoint, source, sw.status, took)
		}
		s.log.Debug("webhook request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "took", took, "remote", r.RemoteAddr)
	})
}
