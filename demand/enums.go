package demand

import (
	"fmt"
	"strings"
)

// Urgency is 紧急程度.
type Urgency string

const (
	UrgencyHigh   Urgency = "high"
	UrgencyMedium Urgency = "medium"
	UrgencyLow    Urgency = "low"
)

// Importance is how much the demand matters to the business.
type Importance string

const (
	ImportanceHigh   Importance = "high"
	ImportanceMedium Importance = "medium"
	ImportanceLow    Importance = "low"
)

// Type is 需求类型. The five-way taxonomy is the default; the three-way one
// (功能型/体验型/战略型) can be chosen in the classification settings.
type Type string

const (
	TypeInquiry    Type = "inquiry"    // 咨询
	TypeComplaint  Type = "complaint"  // 投诉
	TypeSuggestion Type = "suggestion" // 建议
	TypeFeature    Type = "feature"    // 功能 (feature / customisation)
	TypeService    Type = "service"    // 服务 (service request)

	TypeFunctional Type = "functional" // 功能型
	TypeExperience Type = "experience" // 体验型
	TypeStrategic  Type = "strategic"  // 战略型
)

// Priority is the 紧急-重要 quadrant.
type Priority string

const (
	P1 Priority = "P1" // 紧急且重要
	P2 Priority = "P2" // 重要不紧急
	P3 Priority = "P3" // 紧急不重要
	P4 Priority = "P4" // 不紧急不重要
)

// Status is the lifecycle state.
type Status string

const (
	StatusNew        Status = "new"         // 待处理
	StatusInProgress Status = "in_progress" // 处理中
	StatusDelivered  Status = "delivered"   // 已交付
	StatusAccepted   Status = "accepted"    // 已验收
	StatusClosed     Status = "closed"      // 已关闭
	StatusRejected   Status = "rejected"    // 已拒绝
)

// Channel is how a demand arrived.
type Channel string

const (
	ChannelEmail         Channel = "email"
	ChannelQuestionnaire Channel = "questionnaire"
	ChannelWebhook       Channel = "webhook"
	ChannelManual        Channel = "manual"
)

// Origin says who brought the demand up.
type Origin string

const (
	OriginRaised     Origin = "raised"     // 主动提出, by the customer
	OriginDiscovered Origin = "discovered" // 挖掘发现, by staff
)

// Tier is the customer's tier in the customer directory.
type Tier string

const (
	TierStrategic Tier = "strategic" // 战略
	TierKey       Tier = "key"       // 重点
	TierNormal    Tier = "normal"    // 普通
)

// enum describes one string enumeration: its values with Chinese labels and
// the other spellings people use for them.
type enum[T ~string] struct {
	name    string
	values  []T
	labels  map[T]string
	english map[T]string
	aliases map[string]T
}

func newEnum[T ~string](name string, defs ...[]string) enum[T] {
	e := enum[T]{name: name, labels: map[T]string{}, english: map[T]string{}, aliases: map[string]T{}}
	for _, d := range defs { // d = value, label, aliases…
		v := T(d[0])
		e.values = append(e.values, v)
		e.labels[v] = d[1]
		e.english[v] = strings.ReplaceAll(d[0], "_", " ")
		for _, a := range d {
			e.aliases[strings.ToLower(a)] = v
		}
	}
	return e
}

func (e enum[T]) label(v T) string {
	if l, ok := e.labels[v]; ok {
		return l
	}
	return string(v)
}

// withEnglish sets English names that are not the value itself.
func (e enum[T]) withEnglish(names map[T]string) enum[T] {
	for v, n := range names {
		e.english[v] = n
	}
	return e
}

func (e enum[T]) englishLabel(v T) string {
	if l, ok := e.english[v]; ok {
		return l
	}
	return string(v)
}

func (e enum[T]) parse(s string) (T, error) {
	if v, ok := e.aliases[strings.ToLower(strings.TrimSpace(s))]; ok {
		return v, nil
	}
	names := make([]string, len(e.values))
	for i, v := range e.values {
		names[i] = string(v)
		if l := e.labels[v]; l != string(v) {
			names[i] += " (" + l + ")"
		}
	}
	return "", fmt.Errorf("unknown %s %q (want one of %s)", e.name, s, strings.Join(names, ", "))
}

var (
	urgencies = newEnum[Urgency]("urgency",
		[]string{"high", "高", "紧急", "urgent"},
		[]string{"medium", "中", "一般", "normal"},
		[]string{"low", "低", "不急"})
	importances = newEnum[Importance]("importance",
		[]string{"high", "高", "重要"},
		[]string{"medium", "中", "一般"},
		[]string{"low", "低", "不重要"})
	types = newEnum[Type]("type",
		[]string{"inquiry", "咨询", "咨询类", "question"},
		[]string{"complaint", "投诉", "投诉类"},
		[]string{"suggestion", "建议", "建议类"},
		[]string{"feature", "功能", "功能类", "功能需求", "定制", "customisation", "customization"},
		[]string{"service", "服务", "服务类", "服务请求", "service request"},
		[]string{"functional", "功能型"},
		[]string{"experience", "体验型"},
		[]string{"strategic", "战略型"})
	priorities = newEnum[Priority]("priority",
		[]string{"P1", "紧急且重要"},
		[]string{"P2", "重要不紧急"},
		[]string{"P3", "紧急不重要"},
		[]string{"P4", "不紧急不重要"}).withEnglish(map[Priority]string{P1: "P1 urgent and important",
		P2: "P2 important, not urgent", P3: "P3 urgent, not important", P4: "P4 neither urgent nor important"})
	statuses = newEnum[Status]("status",
		[]string{"new", "待处理", "未处理", "新建", "open"},
		[]string{"in_progress", "处理中", "in progress", "in-progress", "进行中", "跟进中"},
		[]string{"delivered", "已交付", "已完成", "完成", "已解决", "done", "resolved", "completed"},
		[]string{"accepted", "已验收", "验收通过"},
		[]string{"closed", "已关闭", "关闭"},
		[]string{"rejected", "已拒绝", "拒绝", "不处理", "wontfix"})
	channels = newEnum[Channel]("channel",
		[]string{"email", "邮件"},
		[]string{"questionnaire", "问卷"},
		[]string{"webhook", "工单"},
		[]string{"manual", "手工录入"})
	origins = newEnum[Origin]("origin",
		[]string{"raised", "主动提出"},
		[]string{"discovered", "挖掘发现"})
	tiers = newEnum[Tier]("tier",
		[]string{"strategic", "战略", "战略客户"},
		[]string{"key", "重点", "重点客户"},
		[]string{"normal", "普通", "普通客户"})
)

// Label is the Chinese name used in tables and reports.
func (u Urgency) Label() string    { return urgencies.label(u) }
func (i Importance) Label() string { return importances.label(i) }
func (t Type) Label() string       { return types.label(t) }
func (p Priority) Label() string   { return priorities.label(p) }
func (s Status) Label() string     { return statuses.label(s) }
func (c Channel) Label() string    { return channels.label(c) }
func (o Origin) Label() string     { return origins.label(o) }
func (t Tier) Label() string       { return tiers.label(t) }

// English is the name used in English tables and reports.
func (u Urgency) English() string    { return urgencies.englishLabel(u) }
func (i Importance) English() string { return importances.englishLabel(i) }
func (t Type) English() string       { return types.englishLabel(t) }
func (p Priority) English() string   { return priorities.englishLabel(p) }
func (s Status) English() string     { return statuses.englishLabel(s) }
func (c Channel) English() string    { return channels.englishLabel(c) }
func (o Origin) English() string     { return origins.englishLabel(o) }
func (t Tier) English() string       { return tiers.englishLabel(t) }

// Parse functions accept the value, its Chinese label or a common alias,
// case-insensitively.
func ParseUrgency(s string) (Urgency, error)       { return urgencies.parse(s) }
func ParseImportance(s string) (Importance, error) { return importances.parse(s) }
func ParseType(s string) (Type, error)             { return types.parse(s) }
func ParsePriority(s string) (Priority, error)     { return priorities.parse(s) }
func ParseStatus(s string) (Status, error)         { return statuses.parse(s) }
func ParseChannel(s string) (Channel, error)       { return channels.parse(s) }
func ParseOrigin(s string) (Origin, error)         { return origins.parse(s) }
func ParseTier(s string) (Tier, error)             { return tiers.parse(s) }

// Quadrant places urgency × importance in the four quadrants. Only high
// urgency counts as urgent; medium and high importance count as important,
// so an unremarkable demand lands in P2 (important, not urgent) rather than
// in the periodic review.
func Quadrant(u Urgency, i Importance) Priority {
	urgent := u == UrgencyHigh
	important := i != ImportanceLow
	switch {
	case urgent && important:
		return P1
	case important:
		return P2
	case urgent:
		return P3
	default:
		return P4
	}
}

// Open reports whether work on the demand is still expected.
func (s Status) Open() bool {
	return s == StatusNew || s == StatusInProgress || s == ""
}
