package dedupe

import (
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/net/publicsuffix"

	"github.com/demandd/demandd/internal/nfkc"
)

// Customer is a demand's customer as a sender or form writes it:
// "Company Person <email>", "Person <email>", a name only or an email only.
type Customer struct {
	Email   string // the address, lower case; "" when none
	Domain  string // the registrable domain of Email (mail.x.com → x.com)
	Company string // the company part of the display name, normalised
	Person  string // the person part of the display name, normalised

	latin []string // the Latin words of the person's name, lower case
}

// ParseCustomer reads a customer string. It never fails: what it cannot
// read is left empty, and SameCustomer then decides on what is there.
func ParseCustomer(s string) Customer {
	s = strings.TrimSpace(nfkc.String(s))
	var c Customer
	display := s
	if a, err := mail.ParseAddress(s); err == nil {
		c.Email, display = strings.ToLower(a.Address), a.Name
	} else if i, j := strings.LastIndex(s, "<"), strings.LastIndex(s, ">"); i >= 0 && j > i {
		c.Email, display = strings.ToLower(strings.TrimSpace(s[i+1:j])), strings.TrimSpace(s[:i])
	} else if strings.Contains(s, "@") && !strings.ContainsAny(s, " \t") {
		c.Email, display = strings.ToLower(s), ""
	}
	if at := strings.LastIndex(c.Email, "@"); at >= 0 {
		host := c.Email[at+1:]
		if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
			c.Domain = d
		} else {
			c.Domain = host
		}
	}
	var raw string
	c.Company, c.Person, raw = splitDisplay(display)
	for _, w := range strings.Fields(raw) {
		if w = normName(w); w != "" && !hasHan(w) {
			c.latin = append(c.latin, w)
		}
	}
	return c
}

// splitDisplay cuts a display name into company and person: the person is
// the trailing CJK name (华东制造 李明) or the last two Latin words
// (Lumen Retail Co Priya Shah), with a CJK name after a Latin one kept
// with it (Sunny Tech Wilson Chen 陈伟). A lone word or name is a person.
func splitDisplay(d string) (company, person, rawPerson string) {
	f := strings.Fields(d)
	if len(f) == 0 {
		return "", "", ""
	}
	n := 1 // words of the person
	if !hasHan(f[len(f)-1]) || (len(f) >= 3 && !hasHan(f[len(f)-2])) {
		n = 2
		if hasHan(f[len(f)-1]) {
			n = 3
		}
	}
	if n > len(f) {
		n = len(f)
	}
	rawPerson = strings.Join(f[len(f)-n:], " ")
	return normCompany(strings.Join(f[:len(f)-n], " ")), normName(rawPerson), rawPerson
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// companySuffixes are the legal-form endings that one writer adds and
// another leaves out; longest first, so that 股份有限公司 goes whole.
var companySuffixes = []string{
	"股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司",
	"coltd", "limited", "ltd", "incorporated", "inc", "corporation", "corp", "company", "co", "llc", "gmbh", "plc", "pty",
}

// normCompany folds case and width and drops spaces, punctuation and
// legal-form suffixes, so "Lumen Retail Co., Ltd." is "lumenretail".
func normCompany(s string) string {
	s = normName(s)
	for changed := true; changed; {
		changed = false
		for _, suf := range companySuffixes {
			if len(s) > len(suf) && strings.HasSuffix(s, suf) {
				s, changed = strings.TrimSuffix(s, suf), true
			}
		}
	}
	return s
}

// normName keeps the letters and digits of s, lower case.
func normName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(nfkc.String(s)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// freeMail are public mail providers: two addresses there share a domain,
// not a customer.
var freeMail = map[string]bool{
	"qq.com": true, "163.com": true, "126.com": true, "yeah.net": true, "139.com": true, "189.cn": true,
	"sina.com": true, "sina.cn": true, "sohu.com": true, "aliyun.com": true, "foxmail.com": true,
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "live.com": true,
	"msn.com": true, "yahoo.com": true, "icloud.com": true, "me.com": true, "aol.com": true,
	"proton.me": true, "protonmail.com": true, "gmx.com": true, "mail.com": true, "yandex.com": true,
}

// CustomerKey is a key that two strings of the same customer share when
// it can be told from the string alone: the company domain, else the
// address, else the company name, else the person; "" for an empty string.
// SameCustomer is the finer test (a name against an address).
func CustomerKey(s string) string { return ParseCustomer(s).Key() }

// RecordCustomer is the customer of a stored demand: its organisation,
// contact person and email address, as the channels filled them in.
func RecordCustomer(company, person, email string) Customer {
	c := ParseCustomer(strings.TrimSpace(email))
	c.Company, c.Person = normCompany(company), normName(person)
	return c
}

// Key is the customer's key (see CustomerKey).
func (c Customer) Key() string {
	switch {
	case c.Domain != "" && !freeMail[c.Domain]:
		return "d:" + c.Domain
	case c.Email != "":
		return "e:" + c.Email
	case c.Company != "":
		return "c:" + c.Company
	case c.Person != "":
		return "p:" + c.Person
	}
	return ""
}

// SameCustomer reports whether two customer strings are one customer,
// as the database layer compares them: the same address; the same domain
// unless it is a public mail provider; the same company name. Without
// these, a person's name must agree with the other side's name, or with
// its address's local part (Dan Kowalski, dkowalski@…); a name alone
// against an unrelated address is not taken as the same customer, since
// names repeat across companies and a wrong link hides a demand.
func SameCustomer(a, b string) bool {
	ca, cb := ParseCustomer(a), ParseCustomer(b)
	switch {
	case ca.Email != "" && ca.Email == cb.Email:
		return true
	case ca.Domain != "" && ca.Domain == cb.Domain && !freeMail[ca.Domain]:
		return true
	case ca.Company != "" && ca.Company == cb.Company:
		return true
	case ca.Email != "" && cb.Email != "":
		// Two addresses at different companies (or two public
		// addresses) are two customers, whatever the names say.
		return false
	case ca.Company != "" && cb.Company != "":
		return false
	}
	if ca.Person != "" && ca.Person == cb.Person {
		return true
	}
	return nameMatchesEmail(ca, cb) || nameMatchesEmail(cb, ca)
}

// nameMatchesEmail reports whether a's Latin person name is how b's
// address spells a person: first+last, initial+last, first.last.
func nameMatchesEmail(a, b Customer) bool {
	if a.Person == "" || b.Email == "" || b.Person != "" {
		return false
	}
	local := normName(b.Email[:strings.LastIndex(b.Email, "@")])
	if len(a.latin) < 2 {
		return false
	}
	first, last := a.latin[0], a.latin[len(a.latin)-1]
	return local == first+last || local == first[:1]+last || local == last+first
}
