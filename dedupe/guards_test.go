package dedupe

import (
	"testing"
)

// FuzzGuards pins the guards of clean.go: where a guard says a line
// cannot match, its expression does not match. Seeds: lines of every
// shape the expressions are for, and near misses.
func FuzzGuards(f *testing.F) {
	for _, s := range []string{
		"尊敬的王经理：", "各位领导，", "您好！", "王经理您好，", "大家好", "早安", "下午好~", "Hi team,", "hello", "Dear Mr. Wang,",
		"Good morning all:", "HELLO world crashes on start", "greetings", "无", "暂无意见。", "没有了!", "N/A", "n/a ", "None.",
		"nil", "NULL", "No", "nothing", "no comment", "No Comments!!", "---", "///", "...", "其他建议: 无", "备注：  ...", "label:",
		"提交答卷时间: 2026/11/01", "序号 12", "IP: 1.2.3.4", "priority: high", "Submitted at: 10:00", "end time 5", "user agent: x",
		"ſubmitted: 1", "ſeverity: 2", "noſ", "Kontact: 1", "希望报表可以按部门导出Excel。（编号1）", "请尽快处理 谢谢", "", " ", "\t",
		"好", "a:b", "无\v", "Hı", "dear", "G",
		"电话：010-12345678", "(10) 123 4567", "13812345678", "+86 138-1234-5678", "12345678", "WWW.Example.com", "wWw.x",
		"httpſ://x", "见 https://example.com/a", "a@b.c", "王五 <wang@example.com>", "ww.w", "1 2 3 4 5 6 7 8 9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, l string) {
		if !mayGreetZH(l) && greetingsZH.MatchString(l) {
			t.Errorf("mayGreetZH(%q) false, greetingsZH matches", l)
		}
		if !mayGreetEN(l) && (greetingsEN.MatchString(l) || greetingLineEN.MatchString(l)) {
			t.Errorf("mayGreetEN(%q) false, an English greeting matches", l)
		}
		if !mayBeMetadata(l) && metadataLine.MatchString(l) {
			t.Errorf("mayBeMetadata(%q) false, metadataLine matches", l)
		}
		if !mayContact(l) && (emailRe.MatchString(l) || urlRe.MatchString(l) || phoneIn.MatchString(l)) {
			t.Errorf("mayContact(%q) false, an address matches", l)
		}
		if len(l) <= 160 && isEmptyAnswer(l) != emptyAnswer.MatchString(l) {
			t.Errorf("isEmptyAnswer(%q) = %v, emptyAnswer says otherwise", l, isEmptyAnswer(l))
		}
	})
}
