package normalize

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/nfkc"
	"github.com/demandd/demandd/internal/tomlpos"
)

// Field is a record field a questionnaire column can map to.
type Field string

const (
	FieldID          Field = "id"
	FieldReceivedAt  Field = "received_at"
	FieldCustomer    Field = "customer"
	FieldIndustry    Field = "industry"
	FieldContact     Field = "contact"
	FieldEmail       Field = "email"
	FieldPhone       Field = "phone"
	FieldTier        Field = "tier"
	FieldTitle       Field = "title"
	FieldDescription Field = "description"
	FieldScenario    Field = "scenario"
	FieldPainPoint   Field = "pain_point"
	FieldGoal        Field = "goal"
	FieldUrgency     Field = "urgency"
	FieldType        Field = "type"
)

// aliasRule matches normalised header text: exact names first, then
// substrings, in this order, so that 问题类型 is a type and not a problem
// description and 公司名称 is the customer and not a person's name.
type aliasRule struct {
	field    Field
	exact    []string
	contains []string
}

var builtinAliases = []aliasRule{
	{FieldID, []string{"序号", "编号", "id", "responseid", "respondentid", "答卷编号", "原始记录编号", "ticketid", "antwort-id"}, nil},
	{FieldReceivedAt, []string{"提交答卷时间", "提交时间", "结束答题时间", "completiontime", "timestamp", "时间戳记",
		"submitdate", "datesubmitted", "enddate", "填写时间", "答题时间", "recordeddate", "提交日期", "submittedat",
		"enddatum", "erfassungsdatum"}, nil},
	{FieldEmail, []string{"email", "emailaddress", "e-mail", "邮箱", "电子邮箱", "电子邮件", "recipientemail", "邮件地址",
		"e-maildesempfängers"}, nil},
	{FieldContact, []string{"name", "姓名", "联系人", "提交人", "你的名字", "您的名字"}, nil},
	{FieldType, nil, []string{"需求类型", "问题类型", "反馈类型", "需求类别", "问题分类", "类型", "类别", "分类", "category", "typeof", "requesttype"}},
	{FieldUrgency, nil, []string{"紧急", "急迫", "优先级", "urgency", "urgent", "priority"}},
	{FieldTier, nil, []string{"客户等级", "客户级别", "客户层级", "tier"}},
	{FieldIndustry, nil, []string{"行业", "industry"}},
	{FieldEmail, nil, []string{"邮箱", "email", "e-mail"}},
	{FieldPhone, nil, []string{"电话", "手机号", "联系方式", "phone", "mobile", "tel"}},
	{FieldCustomer, nil, []string{"公司", "单位", "企业", "机构", "组织", "客户名称", "客户名", "门店", "学校", "医院",
		"company", "organization", "organisation", "customer", "business"}},
	{FieldContact, nil, []string{"姓名", "联系人", "称呼", "名字", "yourname", "fullname", "contactname", "name"}},
	{FieldTitle, nil, []string{"标题", "主题", "需求名称", "subject", "title", "summary"}},
	{FieldScenario, nil, []string{"场景", "scenario", "usecase"}},
	{FieldPainPoint, nil, []string{"痛点", "困扰", "困难", "pain"}},
	{FieldGoal, nil, []string{"期望", "目标", "希望达到", "预期", "expect", "goal", "outcome"}},
	{FieldDescription, nil, []string{"需求", "问题", "描述", "建议", "意见", "反馈", "诉求", "内容", "详情", "说明", "留言",
		"description", "request", "feedback", "issue", "problem", "comment", "suggestion", "detail", "requirement", "message"}},
}

// platformMeta are the survey platforms' own columns (folded): kept as
// extra attributes, never taken for a field (来源详情 is not a 详情).
var platformMeta = foldedSet("来源", "来源详情", "开始答题时间", "地理位置国家和地区", "地理位置省", "地理位置市", "自定义字段",
	"ua", "referrer", "用户类型", "用户标识", "审核状态", "清洗数据结果", "智能清洗数据无效概率", "语言", "经纬度", "填写设备",
	"操作系统", "浏览器", "修改时间", "填写地区", "中奖时间", "中奖金额", "starttime", "lastmodifiedtime", "totalpoints",
	"quizfeedback", "score", "startdate", "status", "progress", "finished", "distributionchannel", "userlanguage",
	"locationlatitude", "locationlongitude", "externalreference", "微信openid", "微信头像", "微信昵称", "openid",
	// Qualtrics: the legacy layout's own columns, and the current layout's
	// labels in English and German (its ids are covered above).
	"responseset", "externaldatareference", "locationaccuracy", "responsetype", "anfangsdatum", "antworttyp",
	"aktuellerstand", "beendet", "externedatenreferenz", "breitengraddesstandorts", "längengraddesstandorts",
	"verteilungskanal", "benutzersprache")

// firstNames and lastNames are the columns of a contact's name in two parts
// (Qualtrics, SurveyMonkey); the contact is "first last".
var (
	firstNames = foldedSet("firstname", "recipientfirstname", "givenname", "vorname", "vornamedesempfängers")
	lastNames  = foldedSet("lastname", "recipientlastname", "surname", "familyname", "nachname", "nachnamedesempfängers")
)

// anonymous are what platforms write as the name or e-mail of an anonymous
// respondent (Qualtrics legacy, Microsoft Forms): no contact.
var anonymous = foldedSet("anonymous", "anonym", "匿名", "匿名用户")

// minFreeText is the mean width (ingest.Row.FreeText) from which a column's
// answers are taken for free text: "Hello World!", 系统登录很慢.
const minFreeText = 8

// mayBeAnonymous is false for a value whose headerKey cannot be in
// anonymous, found without headerKey's expressions (half of a row's
// normalising, run on every name, company and address): a run of unified
// Han characters is its own key; an ASCII value needs a y and an m
// ("anonym"). FuzzAnonymous pins it.
func mayBeAnonymous(v string) bool {
	ascii, han := true, true
	for _, r := range v {
		ascii = ascii && r < utf8.RuneSelf
		han = han && r >= 0x4E00 && r <= 0x9FFF
	}
	switch {
	case han:
		return anonymous[v]
	case ascii:
		return strings.ContainsAny(v, "yY") && strings.ContainsAny(v, "mM")
	}
	return true
}

func foldedSet(names ...string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[headerKey(n)] = true
	}
	return set
}

// Questionnaire maps spreadsheet rows to records.
type Questionnaire struct {
	user []aliasRule // from the configuration, tried first
	loc  *time.Location

	mu    sync.Mutex
	cache map[string]*Mapping
	// last is the header MapRow mapped last and its mapping: the rows of
	// one file share their header, and building the cache's key for each
	// (every header cell joined) cost a tenth of a row's mapping.
	last atomic.Pointer[mappedHeader]
}

// mappedHeader is a header (all three rows of it) and its mapping.
type mappedHeader struct {
	header, labels, importIDs []string
	m                         *Mapping
}

// NewQuestionnaire builds a mapper; aliases are field → header names.
func NewQuestionnaire(aliases map[string][]string, loc *time.Location) *Questionnaire {
	if loc == nil {
		loc = time.UTC
	}
	q := &Questionnaire{loc: loc, cache: map[string]*Mapping{}}
	for field, names := range aliases {
		r := aliasRule{field: Field(field)}
		for _, n := range names {
			if k := headerKey(n); k != "" { // "Q2" folds to nothing, which every header contains
				r.exact = append(r.exact, k)
				r.contains = append(r.contains, k)
			}
		}
		q.user = append(q.user, r)
	}
	return q
}

// Mapping is a header's columns by field.
type Mapping struct {
	Header []string
	// Labels is the label row under Header (Qualtrics' question texts), if
	// the file has one; see ingest.Row.
	Labels []string
	Fields map[Field]int // column index per field
	// DescriptionFromAnswers is set when no header names the description
	// and the column was chosen because its answers are free text.
	DescriptionFromAnswers bool
	// roles for the value conventions of known metadata columns.
	meta map[int]metaKind
	// given is the first-name column when FieldContact is the last name; -1
	// otherwise.
	given int
	// zone is the time zone of the received_at column when the export
	// says it (Qualtrics' ImportId row); nil otherwise.
	zone *time.Location
	// open are the columns no field or platform claims: the questions that
	// may hold the description.
	open []int
	// extra are the columns no field takes, kept on the record as extra
	// attributes, with the names they are kept under; set by finish.
	extra []extraColumn
}

// extraColumn is a column kept as an extra attribute: its index and its
// header as a person reads it.
type extraColumn struct {
	index int
	name  string
}

// finish sets what every row of m's file reads alike, once for them all.
func (m *Mapping) finish() *Mapping {
	m.extra = m.extraColumns()
	return m
}

// extraColumns are the columns no field (nor the first name) takes.
func (m *Mapping) extraColumns() []extraColumn {
	if m.extra != nil {
		return m.extra
	}
	used := map[int]bool{m.given: true}
	for _, i := range m.Fields {
		used[i] = true
	}
	extra := make([]extraColumn, 0, len(m.Header))
	for i := range m.Header {
		if !used[i] {
			extra = append(extra, extraColumn{index: i, name: m.name(i)})
		}
	}
	return extra
}

type metaKind int

const (
	metaPlain metaKind = iota
	metaDuration
	metaIP
)

var (
	numberPrefix = regexp.MustCompile(`^\s*(?:第?\d+(?:\.\d+)*\s*(?:[、.．:：)）]|题)|q\d+[.:、_ ]?)\s*`)
	typeSuffix   = regexp.MustCompile(`[(（\[【][^()（）]*?(?:题|必答|选填|多选|单选|required)[^()（）]*?[)）\]】]`)
)

// reSpace is what \s matches in a regular expression: ASCII white space
// without \v.
const reSpace = "\t\n\f\r "

// parseSeconds reads 问卷星's answer time, "136秒", as
// ^\s*(\d+)\s*秒\s*$ would (FuzzMetaParsers holds it to that), without a
// regular expression per row.
func parseSeconds(s string) (string, bool) {
	rest, ok := strings.CutSuffix(strings.Trim(s, reSpace), "秒")
	rest = strings.TrimRight(rest, reSpace)
	if !ok || rest == "" {
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return "", false
		}
	}
	return rest, true
}

// parseIPRegion reads 问卷星's "183.192.16.69(上海-上海)" as
// ^\s*([0-9a-fA-F:.]+)\s*[(（](.*?)[)）]\s*$ would.
func parseIPRegion(s string) (ip, region string, ok bool) {
	s = strings.Trim(s, reSpace)
	n := 0
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] >= 'a' && s[n] <= 'f' || s[n] >= 'A' && s[n] <= 'F' || s[n] == ':' || s[n] == '.') {
		n++
	}
	if n == 0 {
		return "", "", false
	}
	ip, rest := s[:n], strings.TrimLeft(s[n:], reSpace)
	switch {
	case strings.HasPrefix(rest, "("):
		rest = rest[1:]
	case strings.HasPrefix(rest, "（"):
		rest = rest[len("（"):]
	default:
		return "", "", false
	}
	switch {
	case strings.HasSuffix(rest, ")"):
		region = rest[:len(rest)-1]
	case strings.HasSuffix(rest, "）"):
		region = rest[:len(rest)-len("）")]
	default:
		return "", "", false
	}
	if strings.IndexByte(region, '\n') >= 0 { // '.' matches no newline
		return "", "", false
	}
	return ip, region, true
}

// headerKey folds a header for matching: NFKC, lower case, question number
// and type suffix removed, spaces and trailing punctuation dropped.
func headerKey(h string) string {
	h = nfkc.String(h)
	h = strings.ToLower(h)
	h = numberPrefix.ReplaceAllString(h, "")
	h = typeSuffix.ReplaceAllString(h, "")
	h = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '*', ':', '?', '!', '。', '，', ',', '、':
			return -1
		}
		return r
	}, h)
	return h
}

// Map finds the fields of header; the result is cached per header.
func (q *Questionnaire) Map(header []string) (*Mapping, error) {
	return q.MapRow(&ingest.Row{Header: header})
}

// MapRow finds the fields of row's columns. Each column is matched by its
// header and by its label (ingest.Row.Labels): the configuration's aliases
// first, then the built-in exact names, then the built-in substrings; that
// is cached per header and labels. When no header or label names the
// description of a file with a label row, the column the reader found to
// hold the widest free-text answers (ingest.Row.FreeText) is taken, if any.
func (q *Questionnaire) MapRow(row *ingest.Row) (*Mapping, error) {
	var m *Mapping
	if l := q.last.Load(); l != nil && slices.Equal(l.header, row.Header) && slices.Equal(l.labels, row.Labels) &&
		slices.Equal(l.importIDs, row.ImportIDs) {
		m = l.m
	} else {
		key := mappingKey(row)
		q.mu.Lock()
		m = q.cache[key]
		q.mu.Unlock()
		if m == nil {
			m = q.mapHeader(row)
			q.mu.Lock()
			q.cache[key] = m
			q.mu.Unlock()
		}
		// Copies: a caller may write over its header slice for another file.
		q.last.Store(&mappedHeader{header: slices.Clone(row.Header), labels: slices.Clone(row.Labels),
			importIDs: slices.Clone(row.ImportIDs), m: m})
	}
	if m.hasText() {
		return m, nil
	}
	// Only a file with a label row under ids (Qualtrics' Q1, Q2…) has
	// headers that say nothing; elsewhere a header that names no
	// description is a question for a person, not a guess (it could pick
	// an address column).
	if len(row.Labels) == 0 {
		return nil, noDescription(row, m)
	}
	best := -1
	for _, i := range m.open {
		if w := atInt(row.FreeText, i); w >= minFreeText && (best < 0 || w > row.FreeText[best]) {
			best = i
		}
	}
	if best < 0 {
		return nil, noDescription(row, m)
	}
	withText := *m
	withText.Fields = maps.Clone(m.Fields)
	withText.Fields[FieldDescription], withText.DescriptionFromAnswers = best, true
	withText.extra = nil
	return withText.finish(), nil
}

// mapHeader maps row's header and labels; the mapping may lack a
// description.
func (q *Questionnaire) mapHeader(row *ingest.Row) *Mapping {
	header := row.Header
	m := &Mapping{Header: header, Labels: row.Labels, Fields: map[Field]int{}, meta: map[int]metaKind{}, given: -1}
	keys := make([][]string, len(header)) // header's and label's folded text per column
	for i, h := range header {
		for _, text := range []string{h, at(row.Labels, i)} {
			if k := headerKey(text); k != "" && (len(keys[i]) == 0 || keys[i][0] != k) {
				keys[i] = append(keys[i], k)
			}
		}
		for _, k := range keys[i] {
			if kind, ok := metaOf(k); ok {
				m.meta[i] = kind
				break
			}
		}
	}
	taken := map[int]bool{}
	free := func(i int) bool {
		_, isMeta := m.meta[i]
		return !isMeta && !taken[i] && len(keys[i]) > 0
	}
	pass := func(rules []aliasRule, exact bool) {
		for i := range keys {
			if !free(i) {
				continue
			}
			for _, k := range keys[i] {
				if f, ok := match(rules, exact, k, m.Fields); ok {
					m.Fields[f] = i
					taken[i] = true
					break
				}
			}
		}
	}
	pass(q.user, true)
	pass(q.user, false)
	if _, ok := m.Fields[FieldContact]; !ok { // a name in two columns
		first, last := -1, -1
		for i := range keys {
			for _, k := range keys[i] {
				switch {
				case !free(i):
				case firstNames[k] && first < 0:
					first = i
				case lastNames[k] && last < 0:
					last = i
				}
			}
		}
		if first >= 0 && last >= 0 {
			m.Fields[FieldContact], m.given = last, first
			taken[first], taken[last] = true, true
		}
	}
	pass(builtinAliases, true)
	pass(builtinAliases, false)
	for i := range keys {
		if free(i) {
			m.open = append(m.open, i)
		}
	}
	if i, ok := m.Fields[FieldReceivedAt]; ok {
		m.zone = importZone(at(row.ImportIDs, i))
	}
	return m.finish()
}

func mappingKey(row *ingest.Row) string {
	var b strings.Builder
	for _, part := range [][]string{row.Header, row.Labels, row.ImportIDs} {
		for _, s := range part {
			b.WriteString(s)
			b.WriteByte('\x1f')
		}
		b.WriteByte('\x1e')
	}
	return b.String()
}

func at(ss []string, i int) string {
	if i < len(ss) {
		return ss[i]
	}
	return ""
}

// metaOf reports the platforms' own columns by their folded header.
func metaOf(k string) (metaKind, bool) {
	switch k {
	case "所用时间", "答题时长", "填写时长", "duration(inseconds)", "durationinseconds", "dauer(insekunden)":
		return metaDuration, true
	case "来自ip", "ip", "ipaddress", "ip地址", "ip-adresse":
		return metaIP, true
	}
	return metaPlain, platformMeta[k]
}

// importZone reads the time zone of a Qualtrics ImportId cell,
// {"ImportId":"endDate","timeZone":"America/Denver"}.
func importZone(cell string) *time.Location {
	var id struct {
		TimeZone string `json:"timeZone"`
	}
	if cell == "" || json.Unmarshal([]byte(cell), &id) != nil || id.TimeZone == "" {
		return nil
	}
	loc, err := time.LoadLocation(id.TimeZone)
	if err != nil {
		return nil
	}
	return loc
}

func (m *Mapping) hasText() bool {
	for _, f := range []Field{FieldDescription, FieldTitle, FieldPainPoint, FieldGoal, FieldScenario} {
		if _, ok := m.Fields[f]; ok {
			return true
		}
	}
	return false
}

func match(rules []aliasRule, exact bool, k string, taken map[Field]int) (Field, bool) {
	for _, r := range rules {
		if _, done := taken[r.field]; done {
			continue
		}
		list := r.contains
		if exact {
			list = r.exact
		}
		for _, a := range list {
			if (exact && k == a) || (!exact && strings.Contains(k, a)) {
				return r.field, true
			}
		}
	}
	return "", false
}

// openQuestion are words of a question answered in free text, for the
// example in the no-description error.
var openQuestion = []string{"请描述", "请说明", "请简述", "请填写", "请输入", "请写", "补充", "其他", "想说", "原因", "为什么",
	"describe", "explain", "tellus", "comment", "anythingelse", "why", "other"}

// noDescription is the rejection of a file whose header names no
// description: it lists every column and gives the configuration line that
// names the likeliest free-text question.
func noDescription(row *ingest.Row, m *Mapping) error {
	cols := make([]string, len(row.Header))
	for i, h := range row.Header {
		cols[i] = shown(h)
		if l := at(row.Labels, i); strings.TrimSpace(l) != "" && l != h {
			cols[i] = fmt.Sprintf("%s (%s)", shown(h), shown(l))
		}
	}
	// The likeliest: the widest free-text answers, then the ImportId of a
	// Qualtrics text entry question (QID2_TEXT), then the words of an open
	// question, then the longest question.
	best, bestScore := "", [4]int{-1}
	for _, i := range m.open {
		text := row.Header[i]
		if l := at(row.Labels, i); headerKey(l) != "" {
			text = l
		}
		if headerKey(text) == "" {
			continue
		}
		var score [4]int
		score[0] = atInt(row.FreeText, i)
		if textEntry.MatchString(at(row.ImportIDs, i)) {
			score[1] = 1
		}
		for _, w := range openQuestion {
			if strings.Contains(headerKey(text), w) {
				score[2] = 1
			}
		}
		score[3] = len([]rune(strings.TrimSpace(text)))
		if best == "" || greater(score, bestScore) {
			best, bestScore = strings.TrimSpace(text), score
		}
	}
	example := tomlpos.Quote(best)
	// A CSV without a BOM is read in the encoding its bytes suggest; when
	// that is not UTF-8 and the guess is wrong, the headers above are
	// garbled, and that is what to fix rather than the config.
	var enc i18n.Text
	if row.Encoding != "" && row.Encoding != "UTF-8" {
		name := row.Encoding
		if name == "GB18030" {
			name = "GB18030 (GBK)"
		}
		enc = i18n.Tf("文件按 %s 编码读取：如果表头是乱码，请把文件另存为 UTF-8 编码后重新放入文件夹。",
			"The file was read as %s: if the headers look garbled, save the file as UTF-8 and drop it in again. ", name)
	}
	t := i18n.Tf(
		"没有一列是需求描述（表头：%[1]s）。%[3]s请在配置中写明哪道题是需求描述（已有 [questionnaire.aliases] 时，把题目加进它的 description 列表），再把文件重新放进文件夹：\n[questionnaire.aliases]\ndescription = [%[2]s]",
		"no column holds the demand's description (headers: %[1]s). %[4]sName the question that holds it in the config (if [questionnaire.aliases] is there already, add the question to its description list) and drop the file again:\n[questionnaire.aliases]\ndescription = [%[2]s]",
		strings.Join(cols, " | "), example, enc.ZH, enc.EN)
	if best == "" {
		t = i18n.Tf(
			"没有一列是需求描述（表头：%[1]s）。%[2]s请在配置中写明哪道题是需求描述，再把文件重新放进文件夹：\n[questionnaire.aliases]\ndescription = [\"<题目的表头>\"]",
			"no column holds the demand's description (headers: %[1]s). %[3]sName the question that holds it in the config and drop the file again:\n[questionnaire.aliases]\ndescription = [\"<the question's header>\"]",
			strings.Join(cols, " | "), enc.ZH, enc.EN)
	}
	return &ingest.RejectError{Reason: t.EN, Text: t}
}

var textEntry = regexp.MustCompile(`"ImportId"\s*:\s*"QID\d+_TEXT"`)

func atInt(ns []int, i int) int {
	if i < len(ns) {
		return ns[i]
	}
	return 0
}

func greater(a, b [4]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

// Record makes the demand record of one questionnaire row item.
func (q *Questionnaire) Record(it ingest.Item) (*demand.Record, error) {
	var row ingest.Row
	if it.Row != nil {
		row = *it.Row
	} else if err := json.Unmarshal(it.Body, &row); err != nil {
		return nil, quarantine(i18n.Tf("这一行的内容不是有效的 JSON（%v），无法重新处理；请把原文件重新放进文件夹",
			"row body is not valid JSON (%v) and cannot be reprocessed; drop the original file in again", err))
	}
	m, err := q.MapRow(&row)
	if err != nil {
		return nil, err
	}
	damaged, cut := false, row.CellsCut
	limit := func(v string) string { return cutCell(v, row.MaxCell, &cut) }
	cell := func(f Field) string {
		i, ok := m.Fields[f]
		if !ok || i >= len(row.Cells) {
			return ""
		}
		return limit(cellValue(cleanText(row.Cells[i], &damaged)))
	}
	rec := &demand.Record{
		Source: demand.Source{Channel: it.Channel, Name: it.Source, Origin: it.Origin, ExternalRef: it.Ref,
			ReceivedAt: it.ReceivedAt},
		Status: demand.StatusNew,
	}
	person := func(v string) string { // an anonymous respondent has no name
		if mayBeAnonymous(v) && anonymous[headerKey(v)] {
			return ""
		}
		return v
	}
	contact := person(cell(FieldContact))
	if m.given >= 0 && m.given < len(row.Cells) {
		contact = strings.TrimSpace(person(limit(cellValue(cleanText(row.Cells[m.given], &damaged)))) + " " + contact)
	}
	rec.Customer = demand.Customer{Name: person(cell(FieldCustomer)), Industry: cell(FieldIndustry), Contact: contact}
	for _, v := range []string{person(cell(FieldEmail)), cell(FieldPhone)} {
		switch {
		case v == "":
		case strings.Contains(v, "@") && rec.Customer.Email == "":
			rec.Customer.Email = strings.ToLower(v)
		case rec.Customer.Phone == "":
			rec.Customer.Phone = v
		}
	}
	if t := cell(FieldTier); t != "" {
		if tier, err := demand.ParseTier(t); err == nil {
			rec.Customer.Tier = tier
		}
	}
	d := &rec.Description
	d.Title, d.Text = cell(FieldTitle), cell(FieldDescription)
	d.Scenario, d.PainPoint, d.Goal = cell(FieldScenario), cell(FieldPainPoint), cell(FieldGoal)
	if d.Text == "" {
		var parts []string
		for _, p := range []string{d.Scenario, d.PainPoint, d.Goal} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		d.Text = strings.Join(parts, "\n")
	}
	if d.Text == "" && d.Title == "" {
		return nil, quarantine(i18n.Tf("%[2]s 第 %[1]d 行没有需求描述（“%[3]s”一列是空的）；请补填，或在配置的 [questionnaire.aliases] description 中指定另一列，然后运行 `demandd reprocess`",
			"row %[1]d of %[2]s has no description (column %[3]q is empty); fill it in or map another column with [questionnaire.aliases] description, then run `demandd reprocess`",
			row.Number, row.File, m.headerOf(FieldDescription)))
	}
	d.Language = Language(d.Title + d.Text)

	if v := cell(FieldReceivedAt); v != "" {
		loc := q.loc
		if m.zone != nil {
			loc = m.zone
		}
		if t, ok := ParseTime(v, loc); ok {
			rec.Source.ReceivedAt = t
		} else {
			rec.Flags = append(rec.Flags, demand.FlagTimeUnparsed)
		}
	}
	if id := cell(FieldID); id != "" {
		rec.Source.ExternalRef += " #" + id
	}
	if v := cell(FieldUrgency); v != "" {
		if u, ok := ParseUrgencyAnswer(v); ok {
			rec.Urgency = u
			rec.Reasons = append(rec.Reasons, demand.Reason{Rule: demand.RuleAnswer, Attribute: "urgency",
				Value: string(u), Matched: []string{v}})
		}
	}
	if v := cell(FieldType); v != "" {
		if t, ok := ParseTypeAnswer(v); ok {
			rec.Type = t
			rec.Reasons = append(rec.Reasons, demand.Reason{Rule: demand.RuleAnswer, Attribute: "type",
				Value: string(t), Matched: []string{v}})
		}
	}
	for _, c := range m.extraColumns() {
		i := c.index
		if i >= len(row.Cells) {
			continue
		}
		h := limit(c.name)
		raw := limit(cleanText(row.Cells[i], &damaged))
		switch m.meta[i] {
		case metaDuration:
			if n, ok := parseSeconds(raw); ok {
				rec.Extra = append(rec.Extra, demand.Attr{Name: strings.TrimSpace(h) + "(秒)", Value: n})
				continue
			}
		case metaIP:
			if ip, region, ok := parseIPRegion(raw); ok {
				rec.Extra = append(rec.Extra, demand.Attr{Name: "IP", Value: ip}, demand.Attr{Name: "IP归属地", Value: region})
				continue
			}
		}
		if v := cellValue(raw); v != "" && strings.TrimSpace(h) != "" {
			rec.Extra = append(rec.Extra, demand.Attr{Name: strings.TrimSpace(h), Value: v})
		}
	}
	if damaged {
		rec.Flags = append(rec.Flags, demand.FlagTextDamaged)
	}
	if cut {
		rec.Flags = append(rec.Flags, demand.FlagCellCut)
	}
	Identify(rec)
	return rec, nil
}

// cutCell keeps at most limit bytes of v (all of it when limit is 0), on
// a character boundary, and notes a cut: the row's max_cell bounds what a
// record holds, the raw row keeps the cell whole.
func cutCell(v string, limit int, cut *bool) string {
	if limit <= 0 || len(v) <= limit {
		return v
	}
	*cut = true
	for limit > 0 && !utf8.RuneStart(v[limit]) {
		limit--
	}
	return v[:limit]
}

func (m *Mapping) headerOf(f Field) string {
	if i, ok := m.Fields[f]; ok {
		return m.name(i)
	}
	return ""
}

// name is how column i is shown: its label (the question text) when the
// file has one, else its header.
func (m *Mapping) name(i int) string {
	if l := at(m.Labels, i); strings.TrimSpace(l) != "" {
		return shown(l)
	}
	return shown(m.Header[i])
}

// shown is header text as a person reads it and a database takes it: a
// NUL in a CSV header made PostgreSQL refuse the record (jsonb) or the
// quarantine reason (text), which failed the batch again at every retry.
func shown(s string) string {
	var damaged bool
	return cleanText(s, &damaged)
}

// cellValue applies 问卷星's value conventions: (跳过)/(空) are empty,
// multi-select answers joined with ┋ are listed with "；", and the "other"
// text in 〖…〗 follows its option.
func cellValue(v string) string {
	switch v {
	case "(跳过)", "（跳过）", "(空)", "（空）", "NULL":
		return ""
	}
	// Two substring searches, not ContainsAny: with non-ASCII characters to
	// find, it calls IndexRune for every character of every cell.
	if strings.Contains(v, "┋") || strings.Contains(v, "〖") {
		v = strings.ReplaceAll(v, "【请注明】", "")
		v = strings.ReplaceAll(v, "〖", "：")
		v = strings.ReplaceAll(v, "〗", "")
		v = strings.ReplaceAll(v, "┋", "；")
	}
	return v
}

// ParseUrgencyAnswer reads a questionnaire's own urgency answer
// (非常紧急, 一般, 不急, High, 3分 …).
func ParseUrgencyAnswer(v string) (demand.Urgency, bool) {
	s := strings.ToLower(nfkc.String(strings.TrimSpace(v)))
	for _, c := range []struct {
		u     demand.Urgency
		words []string
	}{
		{demand.UrgencyLow, []string{"不紧急", "不急", "不着急", "低", "low", "not urgent", "无所谓"}},
		{demand.UrgencyHigh, []string{"紧急", "急", "高", "high", "urgent", "critical", "asap", "严重"}},
		{demand.UrgencyMedium, []string{"一般", "中", "普通", "medium", "normal", "moderate"}},
	} {
		for _, w := range c.words {
			if strings.Contains(s, w) {
				return c.u, true
			}
		}
	}
	switch s { // a 1–5 scale
	case "5", "4", "5分", "4分":
		return demand.UrgencyHigh, true
	case "3", "3分":
		return demand.UrgencyMedium, true
	case "2", "1", "2分", "1分":
		return demand.UrgencyLow, true
	}
	return "", false
}

// ParseTypeAnswer reads a questionnaire's own type answer.
func ParseTypeAnswer(v string) (demand.Type, bool) {
	if t, err := demand.ParseType(v); err == nil {
		return t, true
	}
	s := strings.ToLower(v)
	for _, c := range []struct {
		t     demand.Type
		words []string
	}{
		{demand.TypeComplaint, []string{"投诉", "complaint"}},
		{demand.TypeSuggestion, []string{"建议", "suggest"}},
		{demand.TypeFeature, []string{"功能", "定制", "feature"}},
		{demand.TypeService, []string{"服务", "维修", "培训", "service"}},
		{demand.TypeInquiry, []string{"咨询", "问询", "question", "inquiry", "enquiry"}},
	} {
		for _, w := range c.words {
			if strings.Contains(s, w) {
				return c.t, true
			}
		}
	}
	return "", false
}
