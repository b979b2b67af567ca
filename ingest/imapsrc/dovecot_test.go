package imapsrc_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/demandd/demandd/ingest/imapsrc"
	"github.com/demandd/demandd/internal/testenv"
	"github.com/demandd/demandd/internal/testimap"
)

func dovecotAppend(t *testing.T, addr, raw string) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("test", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write([]byte(raw))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestDovecot(t *testing.T) {
	addr, _ := testimap.StartDovecot(t)
	for i := 1; i <= 3; i++ {
		dovecotAppend(t, addr, message(i, fmt.Sprintf("dovecot %d", i), "打印机卡纸，请安排上门"))
	}
	env := testenv.New(t, testenv.Backends[0].URL(t), nil)
	src := run(t, env, imapsrc.Config{Addr: addr, Username: "test", IDLE: true, PollInterval: time.Minute, After: "seen"})
	waitDemands(t, env, 3)
	testenv.Eventually(t, 10*time.Second, func() bool { return src.States()[0].Idle }, func() string { return fmt.Sprintf("%+v", src.States()) })
	start := time.Now()
	dovecotAppend(t, addr, message(4, "dovecot push", "系统宕机"))
	waitDemands(t, env, 4)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("IDLE push took %s", took)
	}
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Login("test", "secret").Wait()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		msgs, _ := c.Fetch(imap.SeqSetNum(1, 2, 3, 4), &imap.FetchOptions{Flags: true}).Collect()
		seen := 0
		for _, m := range msgs {
			for _, f := range m.Flags {
				if f == imap.FlagSeen {
					seen++
				}
			}
		}
		return seen == 4
	}, func() string { return "messages not marked seen" })
}
