package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// feishu reads 飞书 (Lark) event subscriptions, schema 2.0: the 服务台
// (helpdesk) ticket events. secret is the Verification Token; encryptKey
// the optional Encrypt Key.
type feishu struct {
	base
	encryptKey string
}

// feishuEnvelope is what Authenticate reads of a (decrypted) body.
type feishuEnvelope struct {
	Type      str `json:"type"`
	Challenge str `json:"challenge"`
	Token     str `json:"token"` // schema 1.0 and url_verification
	UUID      str `json:"uuid"`  // schema 1.0
	Header    struct {
		EventID    str `json:"event_id"`
		EventType  str `json:"event_type"`
		CreateTime str `json:"create_time"`
		Token      str `json:"token"`
	} `json:"header"`
}

// Authenticate decrypts an {"encrypt": …} body (AES-256-CBC, key SHA-256
// of the Encrypt Key, IV the blob's first 16 bytes, PKCS#7), answers a
// url_verification with *Challenge once its token is the Verification
// Token, and otherwise requires the Verification Token in the payload
// (header.token, or token in schema 1.0) and, with an Encrypt Key,
// X-Lark-Signature = hex(SHA-256(X-Lark-Request-Timestamp +
// X-Lark-Request-Nonce + encrypt key + body)). 飞书 signs no freshness
// window: a replayed delivery has the same header.event_id and is caught
// as a duplicate.
func (p *feishu) Authenticate(h http.Header, body []byte, now time.Time) ([]byte, error) {
	payload := body
	var enc struct {
		Encrypt *string `json:"encrypt"`
	}
	if json.Unmarshal(body, &enc) == nil && enc.Encrypt != nil {
		if p.encryptKey == "" {
			return nil, authErr("the body is encrypted but the source has no encrypt_key")
		}
		var err error
		if payload, err = feishuDecrypt(p.encryptKey, *enc.Encrypt); err != nil {
			return nil, authErr("cannot decrypt the body with the configured encrypt_key: %v", err)
		}
	}
	var e feishuEnvelope
	if err := json.Unmarshal(payload, &e); err != nil {
		if enc.Encrypt != nil {
			return nil, authErr("the body decrypted with the configured encrypt_key is not JSON (wrong key?)")
		}
		return nil, &PayloadError{Reason: fmt.Sprintf("feishu: not a JSON payload: %v", err)}
	}
	token := first(e.Header.Token.String(), e.Token.String())
	if e.Type == "url_verification" {
		if !equalString(token, p.secret) {
			return nil, authErr("the url_verification token is not the configured verification token")
		}
		b, err := json.Marshal(map[string]string{"challenge": e.Challenge.String()})
		if err != nil {
			return nil, fmt.Errorf("webhook: feishu challenge: %w", err)
		}
		return nil, &Challenge{Body: b}
	}
	if p.encryptKey != "" {
		sig, ts, nonce := h.Get("X-Lark-Signature"), h.Get("X-Lark-Request-Timestamp"), h.Get("X-Lark-Request-Nonce")
		if sig == "" || ts == "" || nonce == "" {
			return nil, authErr("missing X-Lark-Signature, X-Lark-Request-Timestamp or X-Lark-Request-Nonce header (an encrypt_key is configured)")
		}
		sum := sha256.New()
		sum.Write([]byte(ts + nonce + p.encryptKey))
		sum.Write(body)
		if !equalHex(sig, sum.Sum(nil)) {
			return nil, authErr("X-Lark-Signature does not match the body signed with the configured encrypt_key")
		}
	}
	if token == "" {
		return nil, authErr("the payload has no verification token (header.token)")
	}
	if !equalString(token, p.secret) {
		return nil, authErr("the payload's header.token is not the configured verification token")
	}
	return payload, nil
}

// feishuDecrypt opens an encrypt envelope's blob.
func feishuDecrypt(key, blob string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(blob))
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	if len(raw) < 2*aes.BlockSize || len(raw)%aes.BlockSize != 0 {
		return nil, errors.New("the blob is not an IV and whole AES blocks")
	}
	k := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	out := make([]byte, len(raw)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, raw[:aes.BlockSize]).CryptBlocks(out, raw[aes.BlockSize:])
	n := int(out[len(out)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, errors.New("bad PKCS#7 padding")
	}
	for _, c := range out[len(out)-n:] {
		if int(c) != n {
			return nil, errors.New("bad PKCS#7 padding")
		}
	}
	return out[:len(out)-n], nil
}

// DeliveryID: header.event_id (schema 2.0), uuid (1.0).
func (p *feishu) DeliveryID(h http.Header, payload []byte) string {
	var e feishuEnvelope
	if json.Unmarshal(payload, &e) != nil {
		return ""
	}
	return first(e.Header.EventID.String(), e.UUID.String())
}

type feishuUserID struct {
	OpenID  str `json:"open_id"`
	UserID  str `json:"user_id"`
	UnionID str `json:"union_id"`
}

type feishuTicket struct {
	TicketID str `json:"ticket_id"`
	Guest    *struct {
		ID   feishuUserID `json:"id"`
		Name str          `json:"name"`
	} `json:"guest"`
	Status           str `json:"status"`
	CreatedAt        str `json:"created_at"`
	UpdatedAt        str `json:"updated_at"`
	CustomizedFields []struct {
		DisplayName str `json:"display_name"`
		KeyName     str `json:"key_name"`
		Value       str `json:"value"`
	} `json:"customized_fields"`
}

type feishuPayload struct {
	feishuEnvelope
	Event struct {
		feishuTicket
		// helpdesk.ticket.updated_v1
		Object    *feishuTicket `json:"object"`
		OldObject *struct {
			Status str `json:"status"`
		} `json:"old_object"`
		// helpdesk.ticket_message.created_v1
		Ticket     *feishuTicket `json:"ticket"`
		SenderID   feishuUserID  `json:"sender_id"`
		SenderType str           `json:"sender_type"`
		Text       str           `json:"text"`
		Content    struct {
			Content str `json:"content"`
		} `json:"content"`
	} `json:"event"`
}

// feishuClosed: 服务台 ticket statuses 50 (closed by the bot) and above
// (51 closed by an agent …) are closed; below are open.
func feishuClosed(status string) bool {
	n, err := strconv.Atoi(status)
	return err == nil && n >= 50
}

// Map reads helpdesk.ticket.created_v1 (→ created),
// helpdesk.ticket.updated_v1 (status to closed → closed; from closed back →
// reopened; else updated) and helpdesk.ticket_message.created_v1 (→
// commented). Chat messages (im.message.receive_v1) and every other event
// are ignored: a chat message is not a ticket.
//
// 服务台 ticket events carry no title or description; the text is the
// ticket form's customized fields, "name: value" a line. A ticket event
// without any is titled "飞书服务台工单 <ticket_id>" so that its closing
// or reopening is not lost.
func (p *feishu) Map(h http.Header, payload []byte) (Event, error) {
	// The envelope first: other events' bodies may not fit the ticket's
	// shape, and they are ignored, not refused.
	var e feishuEnvelope
	if err := decode("feishu", payload, &e); err != nil {
		return Event{}, err
	}
	name := e.Header.EventType.String()
	ev := Event{Name: name}
	if e.Type == "url_verification" {
		return Event{}, ignore("feishu url_verification")
	}
	if !strings.HasPrefix(name, "helpdesk.ticket") {
		return Event{}, ignore("feishu event %s is not a helpdesk ticket event", first(name, "without header.event_type"))
	}
	var f feishuPayload
	if err := decode("feishu", payload, &f); err != nil {
		return Event{}, err
	}
	r := p.record()
	r.Source.ReceivedAt = parseTime(f.Header.CreateTime.String())
	var t *feishuTicket
	var state string
	switch name {
	case "helpdesk.ticket.created_v1":
		ev.Kind, t = KindCreated, &f.Event.feishuTicket
	case "helpdesk.ticket.updated_v1":
		t = f.Event.Object
		if t == nil {
			return Event{}, &PayloadError{Reason: "feishu " + name + ": no event.object"}
		}
		state = t.Status.String()
		switch {
		case feishuClosed(state):
			ev.Kind = KindClosed
		case f.Event.OldObject != nil && feishuClosed(f.Event.OldObject.Status.String()):
			ev.Kind = KindReopened
		default:
			ev.Kind, state = KindUpdated, ""
		}
	case "helpdesk.ticket_message.created_v1":
		ev.Kind, t = KindCommented, f.Event.Ticket
		if t == nil {
			return Event{}, &PayloadError{Reason: "feishu " + name + ": no event.ticket"}
		}
		text := first(f.Event.Text.String(), f.Event.Content.Content.String())
		if text == "" {
			return Event{}, ignore("feishu %s: a message without text", name)
		}
		s := f.Event.SenderID
		ev.Comment = &Comment{Author: first(s.UserID.String(), s.OpenID.String(), s.UnionID.String()), Text: text, At: r.Source.ReceivedAt}
		r.Description.Text = text
	default:
		return Event{}, ignore("feishu event %s is not a helpdesk ticket event", first(name, "without header.event_type"))
	}
	ev.Ticket = t.TicketID.String()
	if g := t.Guest; g != nil {
		if n := g.Name.String(); n != "-" { // 飞书 writes "-" for no name
			r.Customer.Contact = n
		}
		addExtra(&r, "open_id", g.ID.OpenID.String())
	}
	if ev.Kind != KindCommented {
		var lines []string
		for _, c := range t.CustomizedFields {
			if v := c.Value.String(); v != "" {
				lines = append(lines, first(c.DisplayName.String(), c.KeyName.String())+": "+v)
			}
		}
		r.Description.Text = strings.Join(lines, "\n")
		if r.Description.Text == "" && ev.Ticket != "" {
			r.Description.Title = "飞书服务台工单 " + ev.Ticket
		}
	}
	ev.Record = r
	if err := p.finish(&ev, "ticket_id", "text", name, state); err != nil {
		return Event{}, err
	}
	return ev, nil
}
