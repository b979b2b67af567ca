package folder

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/demandd/demandd/ingest"
)

// rowJSON gives json.Marshal's bytes for every row, whatever its cells
// and shared fields hold — escapes, HTML characters, invalid UTF-8, the
// sentinels themselves — and when the shared fields change between rows.
func TestRowJSONIsMarshal(t *testing.T) {
	odd := []string{"", " ", "需求", `"quoted"`, `back\slash`, "<b>&amp;</b>", "\x00\x01\x1f", "\xff\xfe", "\u2028\u2029",
		"\x01demandd\x01", `"row":987654321`, `"cells":["x"]`, "tab\tnew\nline", strings.Repeat("长", 300)}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) []string {
		if n < 0 {
			return nil
		}
		out := make([]string, n)
		for i := range out {
			out[i] = odd[r.IntN(len(odd))]
		}
		return out
	}
	shared := []ingest.Row{
		{File: "a.xlsx", SHA256: "abc", Sheet: "Sheet1", Header: pick(5), FreeText: []int{0, 12, 0, 0, 30}, MaxCell: 65536},
		{File: "b<&>.csv", SHA256: "def", Header: pick(3), Labels: pick(3), ImportIDs: pick(3), Encoding: "GB18030"},
		{File: odd[9], Header: nil},
		{File: "c.xlsx", Header: []string{}, Labels: []string{}, FreeText: []int{}},
	}
	var e rowJSON
	for i := 0; i < 2000; i++ {
		row := shared[(i/7)%len(shared)] // runs of rows sharing fields, then a change
		row.Number = r.IntN(1 << 20)
		row.Cells = pick(r.IntN(8) - 1)
		if i%97 == 0 {
			row.CellsCut = true
		}
		if i%101 == 0 {
			row.Number = rowNumberSentinel
		}
		got, err := e.encode(&row)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(&row)
		if !bytes.Equal(got, want) {
			t.Fatalf("row %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func BenchmarkRowJSON(b *testing.B) {
	header := []string{"序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的姓名：", "2、公司名称：", "3、联系电话：",
		"4、电子邮箱：", "5、请描述您遇到的问题或需求：", "6、紧急程度 (单选题 *必答)", "7、您关注的方面 (多选题)"}
	row := ingest.Row{File: "wjx.xlsx", SHA256: strings.Repeat("a", 64), Sheet: "Sheet1", Header: header,
		FreeText: []int{0, 0, 0, 0, 0, 24, 0, 0, 0, 0, 73, 0, 0}, MaxCell: 65536,
		Cells: []string{"1", "2026/11/01 08:00:37", "61秒", "手机提交", "微信", "183.192.1.1(上海-上海)", "李娜", "北京远航物流",
			"13800000001", "user1@example.com", "希望报表可以按部门导出Excel，并且支持自定义字段。", "紧急", "易用性"}}
	b.Run("marshal", func(b *testing.B) {
		for i := range b.N {
			row.Number = i
			json.Marshal(&row)
		}
	})
	b.Run("rowJSON", func(b *testing.B) {
		var e rowJSON
		for i := range b.N {
			row.Number = i
			e.encode(&row)
		}
	})
}
