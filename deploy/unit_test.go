package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// unit reads deploy/demandd.service as key → values.
func unit(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("demandd.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// The unit as shipped passes `systemd-analyze verify` (its ExecStart
// pointed at an executable that exists here): no error, no warning.
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		msg := "NO systemd-analyze: the unit is not verified; install the systemd package (Debian) to verify it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b, err := os.ReadFile("demandd.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "demandd.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/demandd", self)), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The unit has what operations rely on: notify with a watchdog, restarts,
// a user of its own, credentials and the hardening.
func TestUnitSettings(t *testing.T) {
	u := unit(t)
	for key, want := range map[string]string{
		"Type": "notify", "WatchdogSec": "60", "Restart": "on-failure", "User": "demandd", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes", "StateDirectory": "demandd",
	} {
		if got := u[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%v, want %s", key, got, want)
		}
	}
	rw := strings.Join(u["ReadWritePaths"], " ")
	for _, p := range []string{"/var/lib/demandd", "/srv/demandd/inbox", "/srv/demandd/reports", "/srv/demandd/archive"} {
		if !strings.Contains(rw, p) {
			t.Errorf("ReadWritePaths has no %s: %s", p, rw)
		}
	}
	// Every credential the example configuration reads is loaded.
	creds := map[string]bool{}
	for _, c := range u["LoadCredential"] {
		id, _, _ := strings.Cut(c, ":")
		creds[id] = true
	}
	for _, m := range regexp.MustCompile(`\$\{CREDENTIALS_DIRECTORY\}/([\w-]+)`).FindAllStringSubmatch(ExampleConfig, -1) {
		if !creds[m[1]] && m[1] != "lark-encrypt-key" { // 飞书 only: added by those who use it
			t.Errorf("the example reads the credential %s; the unit has no LoadCredential=%s", m[1], m[1])
		}
	}
}
