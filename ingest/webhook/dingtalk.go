package webhook

import (
	"encoding/json"
	"net/http"
	"strings"
)

// dingtalk reads 钉钉 robot callbacks: the messages people send to a
// robot, in a group or alone.
type dingtalk struct{ base }

type dingtalkPayload struct {
	MsgID             str `json:"msgId"`
	MsgType           str `json:"msgtype"`
	ConversationID    str `json:"conversationId"`
	ConversationType  str `json:"conversationType"`
	ConversationTitle str `json:"conversationTitle"`
	SenderNick        str `json:"senderNick"`
	SenderStaffID     str `json:"senderStaffId"`
	SenderCorpID      str `json:"senderCorpId"`
	CreateAt          str `json:"createAt"`
	Text              struct {
		Content str `json:"content"`
	} `json:"text"`
	Content struct {
		RichText []struct {
			Text str `json:"text"`
		} `json:"richText"`
	} `json:"content"`
}

// DeliveryID: msgId.
func (p *dingtalk) DeliveryID(h http.Header, payload []byte) string {
	var d struct {
		MsgID str `json:"msgId"`
	}
	if json.Unmarshal(payload, &d) != nil {
		return ""
	}
	return d.MsgID.String()
}

// Map reads text and richText messages (→ created): each message is its
// own ticket, keyed by its msgId, since a robot callback links a message
// to nothing before it. The sender is the customer; the conversation's
// id and title (a group chat's name) are kept in Record.Extra. Pictures,
// files, audio and other messages without text are ignored.
func (p *dingtalk) Map(h http.Header, payload []byte) (Event, error) {
	var d dingtalkPayload
	if err := decode("dingtalk", payload, &d); err != nil {
		return Event{}, err
	}
	mt := d.MsgType.String()
	ev := Event{Name: "chatbot/" + mt, Kind: KindCreated}
	var text string
	switch mt {
	case "text":
		text = d.Text.Content.String()
	case "richText":
		var sb strings.Builder
		for _, part := range d.Content.RichText {
			sb.WriteString(part.Text.String())
		}
		text = sb.String()
	default:
		return Event{}, ignore("dingtalk %s message: only text and richText messages are read", first(mt, "untyped"))
	}
	if strings.TrimSpace(text) == "" {
		return Event{}, ignore("dingtalk %s message without text", mt)
	}
	r := p.record()
	r.Customer.Contact = d.SenderNick.String()
	r.Description.Text = text
	r.Source.ReceivedAt = parseTime(d.CreateAt.String())
	addExtra(&r, "conversation_title", d.ConversationTitle.String())
	addExtra(&r, "conversation_id", d.ConversationID.String())
	addExtra(&r, "sender_staff_id", d.SenderStaffID.String())
	ev.Ticket = d.MsgID.String()
	ev.Record = r
	if err := p.finish(&ev, "msgId", "text", ev.Name, mt); err != nil {
		return Event{}, err
	}
	return ev, nil
}
