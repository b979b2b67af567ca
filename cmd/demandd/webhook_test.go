package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/demandd/demandd/internal/testenv"
)

// freeAddr is a loopback address nothing listens on, for a daemon to take.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// webhookConfig is a daemon with a generic webhook source and two API
// tokens; title is the pointer the source reads the title from.
func webhookConfig(t *testing.T, dir, addr, title string) string {
	t.Helper()
	return writeConfig(t, dir, "sqlite:"+filepath.Join(dir, "d.db"), fmt.Sprintf(`
[webhook]
listen = %q
[[webhook.source]]
name = "crm"
preset = "generic"
secret_env = "DEMANDD_TEST_CRM_SECRET"
[webhook.source.mapping]
event = "/event"
ticket = "/ticket/id"
title = %q
text = "/ticket/body"
customer = "/ticket/company"
email = "/ticket/email"
urgency = "/ticket/priority"
[[api.token]]
name = "viewer"
scope = "read"
token = "read-token-123"
[[api.token]]
name = "ops"
scope = "write"
token_env = "DEMANDD_TEST_OPS_TOKEN"
`, addr, title))
}

type httpReply struct {
	status int
	body   map[string]any
}

func call(t *testing.T, method, url, token string, body []byte) httpReply {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := httpReply{status: resp.StatusCode}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// The daemon takes a ticket from a webhook, people work it through the API,
// and a payload the mapping missed is kept and made a demand by reprocess
// once the mapping is fixed.
func TestServeWebhookAndAPI(t *testing.T) {
	t.Setenv("DEMANDD_TEST_CRM_SECRET", "crm-secret")
	t.Setenv("DEMANDD_TEST_OPS_TOKEN", "ops-token-456")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "inbox"), 0o755)
	addr := freeAddr(t)
	cfg := webhookConfig(t, dir, addr, "/ticket/title")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errOut strings.Builder
	go func() {
		var out strings.Builder
		done <- run(ctx, []string{"serve", "--config", cfg}, strings.NewReader(""), &out, &errOut)
	}()
	base := "http://" + addr
	testenv.Eventually(t, 30*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, func() string { return "the listener did not open: " + errOut.String() })

	ticket := []byte(`{"event":"created","ticket":{"id":"T-1","title":"系统对接：需对接企业审批流程","body":"我们希望把 OA 审批接入贵司系统，请评估。","company":"华东制造","email":"li@hd.example.com","priority":"P1"}}`)
	got := call(t, http.MethodPost, base+"/hooks/crm", "crm-secret", ticket)
	code, _ := got.body["code"].(string)
	if got.status != http.StatusAccepted || !strings.HasPrefix(code, "DEM") {
		t.Fatalf("delivery: %d %v", got.status, got.body)
	}
	if got := call(t, http.MethodPost, base+"/hooks/crm", "wrong", ticket); got.status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d", got.status)
	}

	// Read it through the API.
	if got := call(t, http.MethodGet, base+"/api/v1/demands/"+code, "", nil); got.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", got.status)
	}
	got = call(t, http.MethodGet, base+"/api/v1/demands/"+code, "read-token-123", nil)
	if got.status != http.StatusOK || !strings.Contains(fmt.Sprint(got.body), "华东制造") {
		t.Fatalf("GET demand: %d %v", got.status, got.body)
	}
	patch := []byte(`{"status":"处理中","response_plan":"安排接口评估","type":"功能类"}`)
	if got := call(t, http.MethodPatch, base+"/api/v1/demands/"+code, "read-token-123", patch); got.status != http.StatusForbidden {
		t.Errorf("PATCH with a read token: %d", got.status)
	}
	got = call(t, http.MethodPatch, base+"/api/v1/demands/"+code, "ops-token-456", patch)
	if got.status != http.StatusOK || got.body["status"] != "in_progress" || got.body["response_plan"] != "安排接口评估" {
		t.Fatalf("PATCH: %d %v", got.status, got.body)
	}
	// The ticket is closed where it lives: the demand follows.
	closed := []byte(`{"event":"closed","ticket":{"id":"T-1","title":"系统对接：需对接企业审批流程","body":"已完成对接","company":"华东制造"}}`)
	if got := call(t, http.MethodPost, base+"/hooks/crm", "crm-secret", closed); got.status != http.StatusAccepted || got.body["code"] != code {
		t.Fatalf("close event: %d %v", got.status, got.body)
	}
	got = call(t, http.MethodGet, base+"/api/v1/demands/"+code, "read-token-123", nil)
	hist, _ := json.Marshal(got.body["history"])
	if got.body["status"] != "closed" || !strings.Contains(string(hist), "api:ops") || !strings.Contains(string(hist), "webhook crm") {
		t.Errorf("after close: status %v, history %s", got.body["status"], hist)
	}

	// A payload whose title sits elsewhere, and with no body: kept, 400.
	other := []byte(`{"event":"created","subject":"希望增加批量导出功能","ticket":{"id":"T-2","company":"华东制造"}}`)
	if got := call(t, http.MethodPost, base+"/hooks/crm", "crm-secret", other); got.status != http.StatusBadRequest {
		t.Fatalf("unmapped payload: %d %v", got.status, got.body)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exit %d: %s", code, errOut.String())
	}

	webhookConfig(t, dir, addr, "/subject") // the mapping fixed
	c, out, stderr := demandd(t, "reprocess", "--all", "--config", cfg)
	if c != exitOK || !strings.Contains(out, "DEM") {
		t.Fatalf("reprocess: %d %q %q", c, out, stderr)
	}
	_, out, _ = demandd(t, "list", "--config", cfg)
	if !strings.Contains(out, "希望增加批量导出功能") {
		t.Errorf("list after reprocess: %q", out)
	}
}
