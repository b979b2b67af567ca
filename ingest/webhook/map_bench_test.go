package webhook

import (
	"net/http"
	"os"
	"testing"
)

// BenchmarkMapGitHub is the preset's share of a delivery's CPU: reading a
// real 7 KB issues payload.
func BenchmarkMapGitHub(b *testing.B) {
	body, err := os.ReadFile("testdata/github-issues.opened.json")
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPreset(SourceConfig{Name: "gh", Preset: "github", Secret: "x"}, "x")
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{"X-Github-Event": {"issues"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Map(h, body); err != nil {
			b.Fatal(err)
		}
	}
}
