package classify

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/demandd/demandd/demand"
)

// DirectoryEntry is one customer of the directory.
type DirectoryEntry struct {
	Name     string
	Industry string
	Tier     demand.Tier
}

// Directory maps email addresses, email domains and names to customers.
type Directory struct {
	Source   string
	byEmail  map[string]DirectoryEntry
	byDomain map[string]DirectoryEntry
	byName   map[string]DirectoryEntry
}

// Len is the number of lookup keys.
func (d *Directory) Len() int { return len(d.byEmail) + len(d.byDomain) + len(d.byName) }

// Lookup finds the customer of c: by email address, then by the address's
// domain, then by name (organisation or person). It returns the key used.
func (d *Directory) Lookup(c demand.Customer) (DirectoryEntry, string, bool) {
	email := strings.ToLower(strings.TrimSpace(c.Email))
	if e, ok := d.byEmail[email]; ok && email != "" {
		return e, email, true
	}
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		if e, ok := d.byDomain[email[at+1:]]; ok {
			return e, email[at+1:], true
		}
	}
	for _, n := range []string{c.Name, c.Contact} {
		k := Fold(n)
		if e, ok := d.byName[k]; ok && k != "" {
			return e, n, true
		}
	}
	return DirectoryEntry{}, "", false
}

// LoadDirectory reads a customer directory: a CSV (UTF-8) or .xlsx whose
// first row names the columns — 匹配/match (an email address, @domain or
// domain, or a name), 客户名称/customer, 行业/industry, 等级/tier (战略/重点/
// 普通 or strategic/key/normal).
func LoadDirectory(path string) (*Directory, error) {
	rows, err := readTable(path)
	if err != nil {
		return nil, fmt.Errorf("classify: customer directory %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("classify: customer directory %s: the file is empty", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		switch Fold(h) {
		case "匹配", "match", "key", "邮箱", "email", "域名", "domain":
			col["match"] = i
		case "客户名称", "客户", "公司", "customer", "name", "company":
			col["name"] = i
		case "行业", "industry":
			col["industry"] = i
		case "等级", "客户等级", "级别", "tier":
			col["tier"] = i
		}
	}
	if _, ok := col["match"]; !ok {
		return nil, fmt.Errorf("classify: customer directory %s: no 匹配/match column in the header %q", path, rows[0])
	}
	d := &Directory{Source: path, byEmail: map[string]DirectoryEntry{}, byDomain: map[string]DirectoryEntry{}, byName: map[string]DirectoryEntry{}}
	get := func(row []string, c string) string {
		if i, ok := col[c]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	for n, row := range rows[1:] {
		key := strings.ToLower(get(row, "match"))
		if key == "" {
			continue
		}
		e := DirectoryEntry{Name: get(row, "name"), Industry: get(row, "industry")}
		if t := get(row, "tier"); t != "" {
			tier, err := demand.ParseTier(t)
			if err != nil {
				return nil, fmt.Errorf("classify: customer directory %s: row %d: %w", path, n+2, err)
			}
			e.Tier = tier
		}
		switch {
		case strings.HasPrefix(key, "@"):
			d.byDomain[key[1:]] = e
		case strings.Contains(key, "@"):
			d.byEmail[key] = e
		case strings.Contains(key, ".") && !strings.ContainsAny(key, " \t") && isASCII(key):
			d.byDomain[key] = e
		default:
			d.byName[Fold(key)] = e
		}
		if e.Name != "" {
			if _, ok := d.byName[Fold(e.Name)]; !ok {
				d.byName[Fold(e.Name)] = e
			}
		}
	}
	return d, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func readTable(path string) ([][]string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xlsm":
		f, err := excelize.OpenFile(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return f.GetRows(f.GetSheetName(f.GetActiveSheetIndex()))
	case ".csv":
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r := csv.NewReader(skipBOM(f))
		r.FieldsPerRecord = -1
		return r.ReadAll()
	default:
		return nil, fmt.Errorf("want a .csv or .xlsx file")
	}
}

func skipBOM(r io.Reader) io.Reader {
	buf := make([]byte, 3)
	n, _ := io.ReadFull(r, buf)
	if n == 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF {
		return r
	}
	return io.MultiReader(strings.NewReader(string(buf[:n])), r)
}
