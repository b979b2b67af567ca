package dedupe

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"

	"github.com/demandd/demandd/internal/nfkc"
)

// Clean is the text a demand is compared on. Both parts are NFKC-folded
// first, so full-width letters and punctuation match the patterns below.
// The title loses reply and forward prefixes (Re:, 回复：, Fwd:); the text
// is read line by line and loses, in this order:
//   - everything from a quoted reply or forward on (-----原始邮件-----,
//     -----Original Message-----, On … wrote:, 在…写道：, a 发件人:/From:
//     header block, Outlook's ____ rule), from a "-- " signature delimiter
//     and from a mobile footer (发自我的iPhone, Sent from my iPhone);
//   - quoted lines ("> …");
//   - everything from a sign-off line on (谢谢, 此致敬礼, 祝好, Best regards,
//     Thanks, Cheers, Sincerely …), and a thanks ending a line;
//   - greetings at the start (您好, X经理您好, 各位好, 尊敬的…, Hi/Hello/Dear X);
//   - a trailing signature block: contact lines (phone, e-mail, address,
//     URL, labelled Tel:/电话:), company and job title lines, and the short
//     name lines among them;
//   - questionnaire boilerplate: （来自问卷星） and its kin, empty answers
//     (无, 暂无, N/A, none), and metadata lines (提交时间…, IP:, 来源:).
//
// Mail text has usually been cut already by normalize.StripReply; the same
// cuts are repeated here because questionnaire and webhook text is not, and
// cutting twice is harmless. What is left is case folded and keeps letters,
// digits and marks only, with one space between two runs of non-CJK
// letters (so that words stay words) and none next to CJK characters,
// which are compared as characters.
func Clean(title, text string) string {
	var f folder
	title = nfkc.String(title)
	text = nfkc.String(text)
	if forwardTitle.MatchString(title) || (strings.Contains(text, "--") && forwardMark.MatchString(text)) {
		text = forwarded(text)
	}
	f.add(stripTitle(title))
	for _, l := range bodyLines(text) {
		f.add(l)
	}
	return f.b.String()
}

// folder writes the compared form of lines.
type folder struct {
	b        strings.Builder
	sep      bool // a separator since the last rune written
	lastWord bool // the last rune written is part of a non-CJK word
}

var fold = cases.Fold()

func (f *folder) add(line string) {
	if !foldsAsASCII(line) {
		line = fold.String(line)
	}
	for _, r := range line {
		if r >= 0x4E00 && r <= 0x9FFF { // CJK Unified Ideographs: letters, compared as characters
			f.b.WriteRune(r)
			f.lastWord, f.sep = false, false
			continue
		}
		if 'A' <= r && r <= 'Z' { // what fold does to ASCII, where it was not run
			r += 'a' - 'A'
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			f.sep = true
			continue
		}
		word := !isCJK(r)
		if word && f.lastWord && f.sep {
			f.b.WriteByte(' ')
		}
		f.b.WriteRune(r)
		f.lastWord, f.sep = word, false
	}
	f.sep = true
}

// foldsAsASCII reports a line whose case folding only lowers its ASCII
// letters: every rune is ASCII, general punctuation (“”…—) or in the CJK
// blocks from U+2E80 to U+9FFF, none of which has case. Most lines of a
// Chinese demand are, and cases.Fold copied each of them.
func foldsAsASCII(line string) bool {
	for _, r := range line {
		if r >= 0x80 && !(r >= 0x2000 && r <= 0x206F) && !(r >= 0x2E80 && r <= 0x9FFF) {
			return false
		}
	}
	return true
}

// isCJK reports runes of scripts written without spaces between words,
// which are compared as character n-grams.
func isCJK(r rune) bool {
	switch {
	case r < 0x2E80: // below every Han, Hiragana and Katakana code point
		return false
	case r >= 0x4E00 && r <= 0x9FFF: // CJK Unified Ideographs, all Han
		return true
	}
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

var titlePrefix = regexp.MustCompile(`(?i)^\s*(?:(?:re|fw|fwd|aw|wg|tr|答复|回复|转发)\s*(?:\[\d+\])?\s*:\s*)+`)

func stripTitle(t string) string { return titlePrefix.ReplaceAllString(t, "") }

var (
	// cutMarkers start what is not the writer's own new words.
	cutMarkers = []*regexp.Regexp{
		regexp.MustCompile(`(?i)^-{2,}\s*(?:original message|原始邮件|原邮件|forwarded message|转发的邮件|转发邮件|reply message|回复的邮件)\s*-{2,}$`),
		regexp.MustCompile(`^(?:在|于).{0,100}写道\s*:?$`),
		regexp.MustCompile(`(?i)^on\s.{0,200}\bwrote\s*:$`),
		regexp.MustCompile(`^_{10,}$`),
		regexp.MustCompile(`^--$`),
		regexp.MustCompile(`(?i)^(?:发自我的|来自我的|sent from my\s|sent from mail for|get outlook for\s|从我的\s?\S+\s?发送)`),
	}
	onLine         = regexp.MustCompile(`(?i)^on\s`)
	wroteLine      = regexp.MustCompile(`(?i)\bwrote\s*:$`)
	headerFrom     = regexp.MustCompile(`(?i)^(?:发件人|from)\s*:`)
	headerFollowUp = regexp.MustCompile(`(?i)^(?:发送时间|日期|时间|收件人|抄送|主题|sent|date|to|cc|subject)\s*:`)

	signOffLine = regexp.MustCompile(`(?i)^(?:谢谢|多谢|感谢|非常感谢|十分感谢|万分感谢|谢谢您|谢谢你|谢谢你们|谢谢大家|感谢支持|感谢您的支持|感谢您的帮助|此致|此致敬礼|敬礼|祝好|顺祝商祺|顺颂商祺|顺颂时祺|祝工作顺利|祝商祺|期待回复|期待您的回复|期待你的回复|盼复|静候佳音|best regards|kind regards|warm regards|warmest regards|regards|best|best wishes|all the best|thanks|thank you|thanks a lot|thank you very much|many thanks|thanks in advance|thanks again|cheers|sincerely|yours sincerely|sincerely yours|yours truly|yours faithfully|respectfully|br|thx|ty)[\s,.!~。！～]*$`)
	// signOffName is a sign-off followed by a name on the same line.
	signOffName = regexp.MustCompile(`^(?i:thanks|thank you|cheers|best|regards|best regards|kind regards|谢谢|此致敬礼)[,\s]+(?:\p{Lu}[\p{L}.'-]*\s*){1,3}$`)
	// thanksEnd is a thanks closing a line that carries content.
	thanksEnd = regexp.MustCompile(`(?i)(?:^|[\s,.;!。；，!~])(?:谢谢|多谢|感谢|麻烦了|辛苦了|thanks|thank you|thx)(?:您|你|你们|大家|各位)?(?:的支持|的帮助|的配合|in advance|a lot|very much|so much)?[\s,.!~。！～]*$`)

	greetingsZH = regexp.MustCompile(`^(?:尊敬的[^,:!。;\s]{1,20}[,:!。;\s]*|各位[\p{Han}]{0,4}[,:!。]+\s*|[\p{Han}A-Za-z·.]{0,10}[,\s]*(?:您好|你好|您们好|你们好|大家好|各位好|早上好|上午好|中午好|下午好|晚上好|早安)(?:[,:!。~\s]+|$))`)
	// greetingsEN with punctuation may carry a few words (Dear Mr. Wang,);
	// a bare line may carry two at most, so that "Hello world crashes on
	// start" stays.
	greetingsEN    = regexp.MustCompile(`(?i)^(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))\b(?:\s+[\p{L}.'-]+){0,4}?\s*[,:!]+\s*`)
	greetingLineEN = regexp.MustCompile(`(?i)^(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening))\b(?:\s+[\p{L}.'-]+){0,2}$`)
	surveySource   = regexp.MustCompile(`\(?\s*(?:来自|来源[:：]?)\s*(?:问卷星|腾讯问卷|金数据|麦客|表单大师|问卷网|wjx|jinshuju)\s*\)?`)
	// surveyFooter is a form's own line about how it was sent.
	surveyFooter = regexp.MustCompile(`(?i)^\(?(?:submitted|sent) (?:via|from|through) [^)]{0,60}\)?$`)
	// fieldLabel is a form or ticket field name before its answer
	// (问题/建议：, Q:, A:, Description:): the label is the form's words,
	// not the writer's, and one form has it where another channel does not.
	fieldLabel = regexp.MustCompile(`^(?:问题|建议|意见|问题/建议|问题或建议|意见或建议|意见/建议|问题描述|需求描述|详细描述|描述|补充说明|其他补充|备注)\s*:\s*|^(?i:q|a|question|answer|description|details|issue|problem|request|comments?|feedback|suggestions?)\s*:\s*`)
	// forwardTitle marks a forwarded mail, whose demand is the forwarded
	// message, not the forwarder's note above it.
	forwardTitle = regexp.MustCompile(`(?i)^\s*(?:fw|fwd|wg|tr|转发)\s*:`)
	forwardMark  = regexp.MustCompile(`(?im)^-{2,}\s*(?:forwarded message|转发的邮件|转发邮件)\s*-{2,}$`)
	emptyAnswer  = regexp.MustCompile(`(?i)^(?:[^:]{1,30}:\s*)?(?:无|暂无|没有|暂时没有|没有了|目前没有|无意见|暂无意见|没有意见|无建议|暂无建议|无其他|略|n/?a|none|nil|null|no|nothing|no comment|no comments|-+|/+|\.+)[\s.。!！]*$`)
	metadataLine = regexp.MustCompile(`(?i)^(?:提交时间|提交答卷时间|填写时间|答题时间|开始时间|结束时间|结束答题时间|所用时间|答题时长|填写时长|来源|来源渠道|来源详情|填写设备|ip|ip地址|ip来源|序号|答卷编号|优先级|紧急程度|报告人|报告者|提交人|联系人|联系电话|联系方式|满意度|是否愿意接受回访|priority|severity|reporter|reported by|contact|rating|satisfaction|submitted at|submitted|submission time|submission date|submission id|timestamp|start time|end time|completion time|response id|ip address|user agent)(?:\s*:|\s+\d)`)
	contactLabel = regexp.MustCompile(`(?i)^(?:tel|telephone|phone|mobile|mob|cell|fax|e-?mail|mail|web|website|address|addr|wechat|skype|qq|电话|手机|座机|传真|邮箱|电邮|邮件|地址|网址|微信|公司|部门|职位|职务)\s*[.:]`)
	emailRe      = regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.-]+`)
	urlRe        = regexp.MustCompile(`(?i)(?:https?://|www\.)\S+`)
	phoneLike    = regexp.MustCompile(`^[+(]?\d[\d\s()+-]{6,}\d$`)
	phoneIn      = regexp.MustCompile(`(?:\+\d{1,3}[ -]?)?(?:1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}-\d{7,8}|\(\d{2,4}\) ?\d{3,4}[ -]?\d{4})`)
	companyLine  = regexp.MustCompile(`(?i)(?:有限公司|有限责任公司|股份公司|集团|公司|事业部|研究院|研究所|\bltd\.?|\blimited|\binc\.?|\bgmbh|\bllc|\bcorp\.?|\bco\.,? ?ltd\.?|\bcorporation)$`)
	// jobTitle is a line that ends in a job title (产品部 王伟 高级经理,
	// Senior Product Manager) or starts with one (Head of Sales).
	jobTitle        = regexp.MustCompile(`(?i)(?:(?:经理|总监|主管|工程师|专员|总裁|主任|负责人|助理|顾问|董事|董事长|架构师|\bmanager|\bdirector|\bengineer|\bspecialist|\bceo|\bcto|\bcfo|\bcoo|\bvp|\blead|\bconsultant|\bofficer|\bassistant|\bpresident|\bfounder|\bowner)$|^(?:head of|vp of|director of|chief)\b)`)
	nameZH          = regexp.MustCompile(`^[\p{Han}·]{2,4}$`)
	nameEN          = regexp.MustCompile(`^\p{Lu}[\p{L}'-]*\.?(?:\s+\p{Lu}[\p{L}'-]*\.?){0,2}$`)
	addressLine     = regexp.MustCompile(`(?:省|市|区|县|路|街|号|楼|室|大厦|园区).{0,30}(?:号|楼|室|层|座|大厦)$`)
	trailingPunctZH = "，,。.；;！!～~ "
)

// bodyLines is text without the parts that are not the writer's words,
// as lines.
func bodyLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if strings.Contains(text, "来自") || strings.Contains(text, "来源") {
		text = surveySource.ReplaceAllString(text, "")
	}
	raw := strings.Split(text, "\n")
	var lines []string
cut:
	for i, l := range raw {
		t := strings.TrimSpace(l)
		if mayCut(t) {
			for _, re := range cutMarkers {
				if re.MatchString(t) {
					break cut
				}
			}
		}
		// A client that wraps "On <date>, <name> <addr>" before "wrote:".
		if onLine.MatchString(t) && i+1 < len(raw) && wroteLine.MatchString(strings.TrimSpace(raw[i+1])) {
			break
		}
		if headerFrom.MatchString(t) && followedByHeader(raw[i+1:]) {
			break
		}
		if strings.HasPrefix(t, ">") {
			continue
		}
		lines = append(lines, t)
	}
	// Sign-off: from a line that is only one on, the rest is signature.
	content := false
	for i, l := range lines {
		if maySignOff(l) && (signOffLine.MatchString(l) || signOffName.MatchString(l)) {
			if content {
				lines = lines[:i]
				break
			}
			lines[i] = "" // a thanks before the request is no sign-off
		}
		content = content || lines[i] != ""
	}
	var kept []string
	for _, l := range lines {
		if l == "" || isEmptyAnswer(l) || (mayBeMetadata(l) && metadataLine.MatchString(l)) ||
			(strings.ContainsAny(l[:1], "(sS") && surveyFooter.MatchString(l)) {
			continue
		}
		if strings.IndexByte(l, ':') < 0 {
			// no field label
		} else if s := fieldLabel.ReplaceAllString(l, ""); s != "" {
			if isEmptyAnswer(s) {
				continue
			}
			l = s
		}
		kept = append(kept, l)
	}
	kept = stripGreetings(kept)
	kept = stripSignature(kept)
	for i, l := range kept {
		if !mayThank(l) {
			continue
		}
		if loc := thanksEnd.FindStringIndex(l); loc != nil && loc[0] > 0 {
			kept[i] = l[:loc[0]]
		}
	}
	return kept
}

// forwarded is the message a forward carries: the text after the first
// forward or original-message marker and its header block, without the
// forwarder's note ("转给你们售后，请处理。"). Without a marker, the text.
func forwarded(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if !cutMarkers[0].MatchString(t) && !(headerFrom.MatchString(t) && followedByHeader(lines[i+1:])) {
			continue
		}
		j := i + 1
		for j < len(lines) && (headerFrom.MatchString(strings.TrimSpace(lines[j])) ||
			headerFollowUp.MatchString(strings.TrimSpace(lines[j]))) {
			j++
		}
		return strings.Join(lines[j:], "\n")
	}
	return text
}

// followedByHeader reports whether a From:/发件人: line starts a quoted
// header block: another header field within the next three lines.
func followedByHeader(rest []string) bool {
	for i := 0; i < len(rest) && i < 3; i++ {
		if headerFollowUp.MatchString(strings.TrimSpace(rest[i])) {
			return true
		}
	}
	return false
}

// stripGreetings removes greetings from the first lines: "尊敬的王经理：" is
// often followed by "您好！" on its own line.
func stripGreetings(lines []string) []string {
	for n := 0; n < 3 && len(lines) > 0; n++ {
		l := lines[0]
		s := l
		if mayGreetZH(l) {
			s = greetingsZH.ReplaceAllString(l, "")
		}
		if s == l && mayGreetEN(l) {
			if greetingLineEN.MatchString(l) {
				s = ""
			} else {
				s = greetingsEN.ReplaceAllString(l, "")
			}
		}
		if s == l {
			break
		}
		if s = strings.TrimLeft(s, trailingPunctZH); s == "" {
			lines = lines[1:]
		} else {
			lines[0] = s
		}
	}
	return lines
}

// stripSignature removes a trailing block of signature lines when it holds
// at least one line that is surely one (contact, company, title): a short
// name line alone may as well be a two-character answer.
func stripSignature(lines []string) []string {
	start, strong := len(lines), false
scan:
	for i := len(lines) - 1; i > 0; i-- { // line 0 is content, whatever it looks like
		switch l := lines[i]; {
		case signatureLine(l):
			strong = true
		case !nameLine(l):
			break scan
		}
		start = i
	}
	if strong {
		return lines[:start]
	}
	return lines
}

func signatureLine(l string) bool {
	if contactLabel.MatchString(l) || phoneLike.MatchString(l) {
		return true
	}
	n := utf8.RuneCountInString(l)
	if n > 60 {
		return false
	}
	if mayContact(l) && (emailRe.MatchString(l) || urlRe.MatchString(l) || phoneIn.MatchString(l)) {
		// A contact among few other words; a sentence that mentions an
		// address is content.
		return len(strings.Fields(l)) <= 6 && !strings.ContainsAny(l, "。？?")
	}
	if n > 30 || strings.ContainsAny(l, "。，？?") {
		return false
	}
	return companyLine.MatchString(strings.TrimRight(l, trailingPunctZH)) || addressLine.MatchString(l) ||
		(n <= 30 && jobTitle.MatchString(strings.TrimRight(l, trailingPunctZH)))
}

func nameLine(l string) bool { return nameZH.MatchString(l) || nameEN.MatchString(l) }

// The checks below are necessary conditions of the patterns they guard,
// cheap enough to run on every line: most lines are content, and running
// a dozen case-insensitive alternations over each of them was most of the
// cost of ingesting a record with de-duplication on. Text is NFKC-folded
// before, so full-width and compatibility letters are ASCII here.

// mayContact reports whether l can hold an address emailRe, urlRe or
// phoneIn finds: an '@', "://" or "www." (in any case), or nine ASCII
// digits — the fewest a phone number of phoneIn has.
func mayContact(l string) bool {
	if strings.IndexByte(l, '@') >= 0 || strings.Contains(l, "://") {
		return true
	}
	digits := 0
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c >= '0' && c <= '9':
			if digits++; digits >= 9 {
				return true
			}
		case c == '.' && i >= 3 && strings.EqualFold(l[i-3:i], "www"):
			return true
		}
	}
	return false
}

// mayCut reports whether t can start a cut marker (cutMarkers).
func mayCut(t string) bool {
	if t == "" {
		return false
	}
	switch t[0] {
	case '-', '_', 'o', 'O', 's', 'S', 'g', 'G':
		return true
	}
	for _, p := range []string{"在", "于", "发自", "来自", "从"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// signOffPunct is what signOffLine allows after its phrase.
const signOffPunct = " \t\n\f\r,.!~。！～"

// maySignOff reports whether l can be a sign-off line (signOffLine: a
// phrase of at most 19 bytes before punctuation) or a sign-off with a name
// (signOffName: it starts with one of a few words).
func maySignOff(l string) bool {
	if len(strings.TrimRight(l, signOffPunct)) <= 24 {
		return true
	}
	switch l[0] {
	case 't', 'T', 'c', 'C', 'b', 'B', 'r', 'R', 'k', 'K':
		return true
	}
	return strings.HasPrefix(l, "谢谢") || strings.HasPrefix(l, "此致")
}

// isEmptyAnswer is emptyAnswer.MatchString for lines that can be one: an
// optional label of at most 30 runes, then a short answer or a run of
// -, / or . — a long line is content unless it is only such a run.
func isEmptyAnswer(l string) bool {
	if len(l) > 160 && strings.Trim(l, "-/. \t:") != "" {
		return false
	}
	// The answer ends the line, before only [\s.。!！]: the last rune
	// left is an answer's last rune, or the line is only a run of dots
	// (with a label).
	t := strings.TrimRight(l, "\t\n\f\r .。!！")
	if r, _ := utf8.DecodeLastRuneInString(t); t != "" && r != ':' && !strings.ContainsRune("无有了见议他略aAeElLoOgGtTsSſ-/", r) {
		return false
	}
	return emptyAnswer.MatchString(l)
}

// The guards below are necessary conditions of a regular expression's
// match, checked first because most lines fail them: the expressions cost
// ~9 µs of a questionnaire answer's 16 µs in Clean. FuzzGuards pins them.

// mayGreetZH reports whether greetingsZH can match l: it starts with
// 尊敬的 or 各位, or holds a greeting, each of which has 好 or 早安.
func mayGreetZH(l string) bool {
	return strings.HasPrefix(l, "尊敬的") || strings.HasPrefix(l, "各位") || strings.Contains(l, "好") || strings.Contains(l, "早安")
}

// mayGreetEN reports whether greetingsEN or greetingLineEN can match l:
// each greeting starts with h, d or g, in either case.
func mayGreetEN(l string) bool {
	return l != "" && (l[0]|0x20 == 'h' || l[0]|0x20 == 'd' || l[0]|0x20 == 'g')
}

// mayBeMetadata reports whether metadataLine can match l: a label, from
// its fixed list, then ':' or a number.
func mayBeMetadata(l string) bool {
	if !strings.ContainsAny(l, ":0123456789") {
		return false
	}
	r, _ := utf8.DecodeRuneInString(l)
	// ſ folds to s under (?i).
	return strings.ContainsRune("提填答开结所来序优紧报联满是iIpPsSſrRcCtTeEuU", r)
}

// mayThank reports whether l holds one of the thanks thanksEnd ends on.
func mayThank(l string) bool {
	for _, w := range []string{"谢", "感谢", "麻烦了", "辛苦了"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	for i := 0; i+3 <= len(l); i++ {
		if c := l[i] | 0x20; c == 't' && (l[i+1]|0x20 == 'h') && (l[i+2]|0x20 == 'a' || l[i+2]|0x20 == 'x') {
			return true
		}
	}
	return false
}
