package imapsrc

import "testing"

func TestXOAUTH2InitialResponse(t *testing.T) {
	mech, ir, err := (&xoauth2{user: "s@example.com", token: "ya29.token"}).Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=s@example.com\x01auth=Bearer ya29.token\x01\x01" {
		t.Errorf("Start() = %q %q %v", mech, ir, err)
	}
	if resp, err := (&xoauth2{}).Next([]byte(`{"status":"401"}`)); err != nil || len(resp) != 0 {
		t.Errorf("Next() = %q %v, want an empty response", resp, err)
	}
}
