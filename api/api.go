package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/store"
)

// Prefix is the path the handler serves; it answers every path under it.
const Prefix = "/api/v1/"

//go:embed openapi.json
var openAPISpec []byte

// Options configure New.
type Options struct {
	Tokens []Token
	// Location reads since and until given as dates (YYYY-MM-DD); default
	// UTC. Times in answers are always UTC.
	Location *time.Location
	Logger   *slog.Logger // default slog.Default()
}

// route is one endpoint. The table is the handler's only source of routes,
// so that a test can hold it against openapi.json.
type route struct {
	method, pattern string
	scope           string // token scope needed; "" for none
	handle          func(s *server, w http.ResponseWriter, r *http.Request, tok *Token)
}

var routes = []route{
	{http.MethodGet, "/api/v1/demands", ScopeRead, (*server).listDemands},
	{http.MethodGet, "/api/v1/demands/{code}", ScopeRead, (*server).getDemand},
	{http.MethodPatch, "/api/v1/demands/{code}", ScopeWrite, (*server).patchDemand},
	{http.MethodGet, "/api/v1/stats", ScopeRead, (*server).stats},
	// The description is public: it holds nothing about the register.
	{http.MethodGet, "/api/v1/openapi.json", "", (*server).openAPI},
}

type server struct {
	st     *store.Store
	loc    *time.Location
	log    *slog.Logger
	tokens []token
}

type token struct {
	Token
	sum [sha256.Size]byte
}

// New returns the handler of every path under /api/v1/. Tokens must have a
// name, a read or write scope and a secret, each secret used once.
func New(st *store.Store, opts Options) (http.Handler, error) {
	if st == nil {
		return nil, errors.New("api: no store")
	}
	s := &server{st: st, loc: opts.Location, log: opts.Logger}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	seen := map[[sha256.Size]byte]string{}
	for _, t := range opts.Tokens {
		switch {
		case t.Name == "":
			return nil, errors.New("api: a token without a name")
		case t.Scope != ScopeRead && t.Scope != ScopeWrite:
			return nil, fmt.Errorf("api: token %s: scope %q, want read or write", t.Name, t.Scope)
		case t.Secret == "":
			return nil, fmt.Errorf("api: token %s: empty secret", t.Name)
		case strings.TrimSpace(t.Secret) != t.Secret || strings.ContainsAny(t.Secret, " \t\r\n"):
			// A header's token has no spaces: such a secret could never match.
			return nil, fmt.Errorf("api: token %s: the secret contains white space", t.Name)
		}
		sum := sha256.Sum256([]byte(t.Secret))
		if other, ok := seen[sum]; ok {
			return nil, fmt.Errorf("api: tokens %s and %s have the same secret", other, t.Name)
		}
		seen[sum] = t.Name
		s.tokens = append(s.tokens, token{Token: t, sum: sum})
	}
	mux := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
		allow[rt.pattern] = append(allow[rt.pattern], rt.method)
		if rt.method == http.MethodGet {
			allow[rt.pattern] = append(allow[rt.pattern], http.MethodHead)
		}
	}
	// Without a method the patterns catch the other methods: the mux's
	// own 405 and 404 answers are plain text, ours are JSON.
	for pattern, methods := range allow {
		sort.Strings(methods)
		methods := strings.Join(methods, ", ")
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			writeError(w, http.StatusMethodNotAllowed, i18n.Tf("此路径不支持 %s，可用：%s", "%s is not allowed here; allowed: %s", r.Method, methods))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, i18n.Tf("没有这个接口：%s", "no such endpoint: %s", r.URL.Path))
	})
	return mux, nil
}

// wrap authenticates and authorises a request before its handler.
func (s *server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if rt.scope == "" {
			rt.handle(s, w, r, nil)
			return
		}
		tok := s.authenticate(r)
		if tok == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="demandd"`)
			writeError(w, http.StatusUnauthorized, i18n.T("需要有效的令牌：Authorization: Bearer <令牌>", "a valid token is required: Authorization: Bearer <token>"))
			return
		}
		if rt.scope == ScopeWrite && tok.Scope != ScopeWrite {
			writeError(w, http.StatusForbidden, i18n.Tf("令牌 %s 只能读取，修改需要 write 权限", "token %s may only read; changes need the write scope", tok.Name))
			return
		}
		rt.handle(s, w, r, tok)
	})
}

// authenticate returns the token the request presents, or nil. Every
// configured token is compared, in constant time and on digests so that
// neither the position of a match nor a secret's length shows in timing.
func (s *server) authenticate(r *http.Request) *Token {
	scheme, presented, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(presented)))
	var found *Token
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], s.tokens[i].sum[:]) == 1 && found == nil {
			found = &s.tokens[i].Token
		}
	}
	return found
}

func (s *server) openAPI(w http.ResponseWriter, r *http.Request, _ *Token) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(openAPISpec)
}

// errorBody is every error answer: English in error, Chinese in error_zh.
type errorBody struct {
	Error   string `json:"error"`
	ErrorZH string `json:"error_zh"`
}

func writeError(w http.ResponseWriter, status int, t i18n.Text) {
	writeJSON(w, status, errorBody{Error: t.EN, ErrorZH: t.ZH})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// internalError logs err and answers 500 without its details, or 503
// with Retry-After when the register does not answer: a client should
// retry then, not report a bug.
func (s *server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
	defer cancel()
	if s.st.Ping(ctx) != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, i18n.T("需求登记册（数据库）暂时不可用，请稍后重试", "the register (database) is unavailable; retry later"))
		return
	}
	writeError(w, http.StatusInternalServerError, i18n.T("服务器内部错误，详情见日志", "internal error; see the server log"))
}
