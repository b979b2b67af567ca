package normalize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"golang.org/x/net/html"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
)

// IgnoreError means the item is not a demand (an auto-reply, a bounce): it
// is stored as ignored, with the reason, and never becomes a record.
type IgnoreError struct{ Reason string }

func (e *IgnoreError) Error() string { return e.Reason }

// AsIgnore reports whether err says the item is not a demand.
func AsIgnore(err error) (*IgnoreError, bool) {
	var i *IgnoreError
	ok := errors.As(err, &i)
	return i, ok
}

// maxPartBytes bounds what one MIME part may expand to.
const maxPartBytes = 16 << 20

// Email makes the record of an RFC 5322 message. Auto-replies and bounces
// give an *IgnoreError; a message that cannot be parsed at all gives a
// *QuarantineError.
func Email(it ingest.Item) (*demand.Record, error) {
	rec, err := email(it, true)
	if errors.Is(err, errSlowPath) {
		return email(it, false)
	}
	return rec, err
}

// partSource gives a message's leaf parts: mail.Reader's walk, or
// partWalker's (which keeps each part's body as it is in the message too).
type partSource interface {
	next() (*walkedPart, error)
}

type mailReaderParts struct{ *gomail.Reader }

func (r mailReaderParts) next() (*walkedPart, error) {
	p, err := r.NextPart()
	if p == nil {
		return nil, err
	}
	return &walkedPart{Part: p}, err
}

// openMail reads the message's header and readies the walk of its parts:
// with partWalker when fast, else with go-message's mail.Reader.
func openMail(body []byte, fast bool) (gomail.Header, partSource, error) {
	if !fast {
		mr, err := gomail.CreateReader(bytes.NewReader(body))
		if mr == nil {
			return gomail.Header{}, nil, err
		}
		return mr.Header, mailReaderParts{mr}, nil
	}
	e, err := message.Read(bytes.NewReader(body)) // as gomail.CreateReader does
	if err != nil && !message.IsUnknownCharset(err) {
		return gomail.Header{}, nil, err
	}
	return gomail.Header{Header: e.Header}, newPartWalker(e), nil
}

// email is Email reading base64 attachments the fast way (partWalker,
// base64Digest) or go-message's way; the fast way returns errSlowPath for
// a message it leaves to the other.
func email(it ingest.Item, fast bool) (*demand.Record, error) {
	var repaired bool
	h, mr, err := openMail(it.Body, fast)
	if mr == nil {
		// Real mail carries header lines that the strict parser refuses
		// (keys with '/' or spaces, stray text): drop those lines and retry.
		if fixed, ok := repairHeader(it.Body); ok {
			h, mr, err = openMail(fixed, fast)
			repaired = mr != nil
		}
	}
	if mr == nil {
		return nil, &QuarantineError{Reason: fmt.Sprintf("the message cannot be parsed: %v", err)}
	}
	damaged := false
	header := func(k string) string {
		s, ok := decodeHeader(h.Get(k))
		damaged = damaged || !ok
		return strings.TrimSpace(s)
	}
	subject := header("Subject")
	from := parseFrom(header("From"))
	if reason := noise(h.Header, subject, from); reason != "" {
		return nil, &IgnoreError{Reason: reason}
	}

	rec := &demand.Record{
		Source: demand.Source{Channel: it.Channel, Name: it.Source, Origin: it.Origin, ExternalRef: it.Ref,
			ReceivedAt: it.ReceivedAt},
		Customer: demand.Customer{Contact: from.Name, Email: strings.ToLower(from.Address)},
		Status:   demand.StatusNew,
	}
	if id := strings.Trim(h.Get("Message-Id"), "<> \t"); id != "" && rec.Source.ExternalRef == "" {
		rec.Source.ExternalRef = id
	}
	if t, err := mail.ParseDate(h.Get("Date")); err == nil && !t.IsZero() {
		rec.Source.ReceivedAt = t
	}
	var plain, htmlText string
	var forwarded []string
	for {
		p, err := mr.next()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			// What was read stays; the rest of a broken message is noted.
			rec.Flags = append(rec.Flags, "mime_incomplete")
			break
		}
		ct, params, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType()
		if ah, ok := p.Header.(*gomail.AttachmentHeader); ok && ct != "message/rfc822" {
			// Only its digest and size are kept: hashed as it is decoded,
			// not held (a PDF of megabytes per message in a first sync).
			if p.raw != nil && strings.ToLower(p.enc) == "base64" { // as go-message matches it
				size, sum, err := base64Digest(p.raw, maxPartBytes)
				if err != nil {
					return nil, err
				}
				rec.Description.Attachments = append(rec.Description.Attachments, attachmentDigest(ah.Header, attachmentName(ah), ct, size, sum))
				continue
			}
			rec.Description.Attachments = append(rec.Description.Attachments, attachmentOf(ah.Header, attachmentName(ah), ct, p.Body))
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(p.Body, maxPartBytes))
		switch hh := p.Header.(type) {
		case *gomail.InlineHeader:
			if ct == "" || strings.HasPrefix(ct, "text/") {
				text, ok := decodeBytes(body, params["charset"])
				damaged = damaged || !ok
				switch {
				case ct == "text/html" && htmlText == "":
					htmlText = htmlToText(text)
				case ct != "text/html" && strings.TrimSpace(plain) == "":
					plain = text
				}
				continue
			}
			rec.Description.Attachments = append(rec.Description.Attachments, attachment(hh.Header, "", ct, body))
		case *gomail.AttachmentHeader:
			rec.Description.Attachments = append(rec.Description.Attachments, attachment(hh.Header, attachmentName(hh), ct, body))
			if ct == "message/rfc822" {
				if inner, err := Email(ingest.Item{Body: body}); err == nil {
					forwarded = append(forwarded, fmt.Sprintf("转发的邮件 Forwarded: %s — %s\n%s", inner.Description.Title,
						inner.Customer.Email, inner.Description.Text))
				}
			}
		}
	}
	full := plain
	if strings.TrimSpace(full) == "" {
		full = htmlText
	}
	if full == "" && len(forwarded) > 0 {
		full = strings.Join(forwarded, "\n\n")
	}
	full = cleanText(full, &damaged)
	rec.Description.Title = cleanText(subject, &damaged)
	rec.Description.Text = StripReply(full)
	if rec.Description.Text == "" {
		rec.Description.Text = full
	}
	if rec.Description.Text == "" && rec.Description.Title == "" {
		return nil, &QuarantineError{Reason: "the message has neither a subject nor any text"}
	}
	rec.Description.Language = Language(rec.Description.Title + rec.Description.Text)
	sig := full
	if i := strings.Index(full, rec.Description.Text); i >= 0 && rec.Description.Text != "" {
		sig = full[i+len(rec.Description.Text):] // the signature follows the customer's words
	}
	rec.Customer.Name = organisation(sig)
	rec.Customer.Phone = phoneRe.FindString(sig)
	if u, v, ok := headerUrgency(h.Header); ok {
		rec.Urgency = u
		rec.Reasons = append(rec.Reasons, demand.Reason{Rule: demand.RuleHeader, Attribute: "urgency", Value: string(u), Matched: []string{v}})
	}
	for _, k := range []string{"In-Reply-To", "References"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			rec.Extra = append(rec.Extra, demand.Attr{Name: k, Value: v})
			ids := msgIDs.FindAllString(v, -1)
			if k == "References" { // nearest ancestor last in References
				for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
					ids[i], ids[j] = ids[j], ids[i]
				}
			}
			for _, id := range ids {
				if id = strings.Trim(id, "<>"); !slices.Contains(rec.ReplyTo, id) {
					rec.ReplyTo = append(rec.ReplyTo, id)
				}
			}
		}
	}
	if damaged {
		rec.Flags = append(rec.Flags, demand.FlagTextDamaged)
	}
	if repaired {
		rec.Flags = append(rec.Flags, "header_repaired")
	}
	Identify(rec)
	return rec, nil
}

// repairHeader drops the header lines whose field name is not a valid
// RFC 5322 name (and their continuation lines); ok is false when there
// was nothing to drop.
func repairHeader(msg []byte) ([]byte, bool) {
	end := bytes.Index(msg, []byte("\n\n"))
	if e := bytes.Index(msg, []byte("\r\n\r\n")); e >= 0 && (end < 0 || e < end) {
		end = e
	}
	if end < 0 {
		end = len(msg)
	}
	var out bytes.Buffer
	dropped, skipping := false, false
	for _, line := range bytes.SplitAfter(msg[:end], []byte("\n")) {
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !skipping {
				out.Write(line)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		skipping = colon <= 0 || !validFieldName(line[:colon])
		if skipping {
			dropped = true
			continue
		}
		out.Write(line)
	}
	out.Write(msg[end:])
	return out.Bytes(), dropped
}

func validFieldName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7F || c == ':' || c == '/' {
			return false
		}
	}
	return true
}

func parseFrom(v string) mail.Address {
	if a, err := mail.ParseAddress(v); err == nil {
		return *a
	}
	if list, err := mail.ParseAddressList(v); err == nil && len(list) > 0 {
		return *list[0]
	}
	if m := looseAddress.FindString(v); m != "" {
		return mail.Address{Address: m, Name: strings.Trim(strings.Replace(v, m, "", 1), ` "<>`)}
	}
	return mail.Address{Name: v}
}

var msgIDs = regexp.MustCompile(`<[^<>\s]+>`)

var looseAddress = regexp.MustCompile(`[^\s<>"]+@[^\s<>"]+`)

// attachmentName is the part's file name, its encoded words decoded.
func attachmentName(h *gomail.AttachmentHeader) string {
	name, _ := h.Filename()
	if n, ok := decodeHeader(name); ok {
		name = n
	}
	return name
}

func attachment(h message.Header, name, ct string, body []byte) demand.Attachment {
	return attachmentOf(h, name, ct, bytes.NewReader(body))
}

// attachmentOf is attachment reading the part's body from r, up to
// maxPartBytes as attachment sees it.
func attachmentOf(h message.Header, name, ct string, r io.Reader) demand.Attachment {
	d := sha256.New()
	size, _ := io.Copy(d, io.LimitReader(r, maxPartBytes))
	return attachmentDigest(h, name, ct, size, d.Sum(nil))
}

// attachmentDigest is the attachment of the part whose body has size and
// SHA-256 sum.
func attachmentDigest(h message.Header, name, ct string, size int64, sum []byte) demand.Attachment {
	if name == "" {
		_, params, _ := h.ContentType()
		name = params["name"]
	}
	if strings.EqualFold(name, "winmail.dat") || ct == "application/ms-tnef" {
		ct = "application/ms-tnef" // Outlook's TNEF wrapper: listed, not unpacked
	}
	return demand.Attachment{Name: name, ContentType: ct, Size: size, SHA256: hex.EncodeToString(sum)}
}

// noise says why a message is an automatic one (auto-reply, bounce,
// mailing list) and not a demand; "" for a person's message.
func noise(h message.Header, subject string, from mail.Address) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond"} {
		if v := h.Get(k); v != "" {
			return k + ": " + v
		}
	}
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "bulk", "junk", "auto_reply", "list":
		return "Precedence: " + p
	}
	if ct, _, _ := h.ContentType(); ct == "multipart/report" {
		return "a delivery status report (multipart/report)"
	}
	local := strings.ToLower(from.Address)
	if i := strings.IndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	if local == "mailer-daemon" || local == "postmaster" {
		return "sent by " + from.Address
	}
	if rp, ok := h.Map()["Return-Path"]; ok && len(rp) > 0 && strings.TrimSpace(rp[0]) == "<>" {
		return "empty Return-Path (a bounce)"
	}
	s := strings.ToLower(subject)
	for _, w := range []string{"自动回复", "自动答复", "out of office", "automatic reply", "auto reply", "autoreply",
		"undeliverable", "undelivered mail", "delivery status notification", "returned mail", "退信", "系统退信"} {
		if strings.Contains(s, w) {
			return "subject says it is automatic: " + w
		}
	}
	return ""
}

// headerUrgency reads X-Priority, Importance and Priority headers.
func headerUrgency(h message.Header) (demand.Urgency, string, bool) {
	if v := strings.TrimSpace(h.Get("X-Priority")); v != "" {
		switch v[0] {
		case '1', '2':
			return demand.UrgencyHigh, "X-Priority: " + v, true
		case '4', '5':
			return demand.UrgencyLow, "X-Priority: " + v, true
		}
	}
	for _, k := range []string{"Importance", "Priority"} {
		switch v := strings.ToLower(strings.TrimSpace(h.Get(k))); v {
		case "high", "urgent":
			return demand.UrgencyHigh, k + ": " + v, true
		case "low", "non-urgent":
			return demand.UrgencyLow, k + ": " + v, true
		}
	}
	return "", "", false
}

// Reply and signature markers, each starting the part of a message that is
// not the customer's own new words.
var (
	replyMarkers = []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\s*在.{0,80}写道[:：]\s*$`),
		regexp.MustCompile(`(?m)^\s*On (?:.|\n){0,300}?wrote:\s*$`),
		regexp.MustCompile(`(?mi)^\s*-{2,}\s*(original message|原始邮件|原邮件|forwarded message|转发的邮件)\s*-{2,}\s*$`),
		regexp.MustCompile(`(?m)^\s*(发件人|From)\s*[:：].*\n\s*(发送时间|日期|Sent|Date)\s*[:：]`),
		regexp.MustCompile(`(?m)^_{20,}\s*$`),
	}
	signatureMarker = regexp.MustCompile(`(?m)^-- ?$`)
	signOff         = regexp.MustCompile(`(?mi)^\s*(谢谢[!！。]?|多谢[!！。]?|此致|顺祝商祺|祝好|敬礼|best regards,?|kind regards,?|regards,?|best,?|thanks[!,.]?|thank you[!,.]?|cheers,?)\s*$`)
)

// markerNeeds are, for replyMarkers and then signatureMarker, strings one
// of which every match contains: a text holding none of them is not
// scanned by that expression. Scanning every message with all of them was
// a fifth of an email's normalisation (make bench-imap's CPU profile).
var markerNeeds = [][]string{{"写道"}, {"wrote:"}, {"--"}, {"发件人", "From"}, {"____________________"}, {"--"}}

// signOffNeeds are signOff's words; signOffNeedsFolded its Latin ones,
// lower-cased, cut short of the letters (k, s) that case-insensitive
// matching folds with non-ASCII letters, and looked for in lower case.
var (
	signOffNeeds       = []string{"谢谢", "多谢", "此致", "顺祝商祺", "祝好", "敬礼"}
	signOffNeedsFolded = []string{"regard", "be", "than", "cheer"}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// StripReply keeps the customer's new words: quoted lines, the quoted
// message after a reply header (在…写道：, On … wrote:, Outlook's
// -----Original Message----- and 发件人:/From: blocks) and the signature
// after "-- " or a sign-off line are cut.
func StripReply(text string) string {
	cut := len(text)
	for i, re := range append(replyMarkers, signatureMarker) {
		if !containsAny(text, markerNeeds[i]) {
			continue
		}
		if loc := re.FindStringIndex(text); loc != nil && loc[0] < cut {
			cut = loc[0]
		}
	}
	if containsAny(text[:cut], signOffNeeds) || containsAny(strings.ToLower(text[:cut]), signOffNeedsFolded) {
		if loc := signOff.FindStringIndex(text[:cut]); loc != nil && loc[0] > 0 {
			cut = loc[0]
		}
	}
	var kept []string
	for _, line := range strings.Split(text[:cut], "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), ">") {
			continue
		}
		kept = append(kept, line)
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

// phoneRe finds a phone number in a signature: Chinese mobiles, landlines
// with an area code, international numbers.
var phoneRe = regexp.MustCompile(`(?:\+\d{1,3}[ -]?)?(?:1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}-\d{7,8}|\(\d{2,4}\) ?\d{3,4}[ -]?\d{4})`)

var orgLine = regexp.MustCompile(`(?m)^[ \t]*([^\n]{2,40}?(?:有限公司|股份公司|集团|公司|Ltd\.?|Limited|Inc\.?|GmbH|LLC|Corp\.?))[ \t]*$`)

// organisation finds the customer's organisation in a signature.
func organisation(full string) string {
	if m := orgLine.FindStringSubmatch(full); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

// htmlToText renders HTML as readable text: paragraphs and line breaks
// kept, list items marked, links followed by their address, scripts and
// styles dropped.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	var href string
	newline := func() {
		if str := b.String(); len(str) > 0 && !strings.HasSuffix(str, "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(collapseBlankLines(b.String()))
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "head", "title":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br":
				b.WriteByte('\n')
			case "p", "div", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol":
				newline()
			case "li":
				if tt == html.StartTagToken {
					newline()
					b.WriteString("- ")
				}
			case "a":
				if tt == html.StartTagToken && hasAttr {
					for {
						k, v, more := z.TagAttr()
						if string(k) == "href" {
							href = string(v)
						}
						if !more {
							break
						}
					}
				} else if tt == html.EndTagToken && href != "" {
					if !strings.HasPrefix(href, "mailto:") && !strings.HasPrefix(href, "#") {
						b.WriteString(" (" + href + ")")
					}
					href = ""
				}
			}
		case html.TextToken:
			if skip == 0 {
				t := strings.Join(strings.Fields(string(z.Text())), " ")
				if t != "" {
					if str := b.String(); len(str) > 0 && !strings.HasSuffix(str, "\n") && !strings.HasSuffix(str, " ") {
						b.WriteByte(' ')
					}
					b.WriteString(t)
				}
			}
		}
	}
}

var blankLines = regexp.MustCompile(`\n{3,}`)

func collapseBlankLines(s string) string { return blankLines.ReplaceAllString(s, "\n\n") }
