package store_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/demandd/demandd/store"
)

// Open's errors never carry the password, in any credential form, while
// errors.Is still sees why the connection failed.
func TestOpenErrorHidesPassword(t *testing.T) {
	for _, c := range []struct {
		name, url string
		secrets   []string
		refused   bool
	}{
		{"user info", "postgres://u:Pw-info-3k@127.0.0.1:1/d?sslmode=disable", []string{"Pw-info-3k"}, true},
		{"password parameter", "postgresql://u@127.0.0.1:1/d?sslmode=disable&password=Pw-param-3k", []string{"Pw-param-3k"}, true},
		{"sslpassword parameter", "postgres://u@127.0.0.1:1/d?sslmode=disable&sslpassword=Pw-ssl-3k", []string{"Pw-ssl-3k"}, true},
		{"malformed port", "postgres://u:Pw-port-3k@127.0.0.1:port/d", []string{"Pw-port-3k"}, false},
		{"malformed escape", "postgres://u:Pw%zz-esc-3k@127.0.0.1:1/d", []string{"Pw%zz-esc-3k", "%zz"}, false},
		{"unencoded slash", "postgres://u:Zq7/Pw-3k@127.0.0.1:1/d", []string{"Zq7/Pw-3k", "Zq7"}, false},
		{"key=value", "host=127.0.0.1 port=1 password='Pw kv 3k'", []string{"Pw kv 3k", "kv 3k"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), c.url, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			for _, secret := range c.secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%q has %q", err, secret)
				}
			}
			if c.refused && !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("%q: errors.Is(ECONNREFUSED) lost", err)
			}
		})
	}
}
