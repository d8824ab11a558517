package evaluation

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kaiping/kaiping"
)

// ImportRow is one expert of an import file with the row it came from (the header is row 1).
type ImportRow struct {
	Row    int
	Expert Expert
}

// RowError is what is wrong with one row of an import file.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// ImportError refuses an import file: KindInvalid "expert.import_rows", with one RowError per
// bad row. Nothing of the file is imported.
type ImportError struct {
	Rows []RowError
	kerr *kaiping.Error
}

// NewImportError returns the error for rows.
func NewImportError(rows []RowError) *ImportError {
	return &ImportError{Rows: rows, kerr: kaiping.Errorf(kaiping.KindInvalid, "expert.import_rows",
		"导入文件有 %d 行错误，未导入任何专家；请修改后重新导入整个文件", len(rows))}
}

func (e *ImportError) Error() string {
	var b strings.Builder
	b.WriteString(e.kerr.Error())
	for _, r := range e.Rows {
		fmt.Fprintf(&b, "\n第 %d 行 %s：%s", r.Row, r.Column, r.Message)
	}
	return b.String()
}

// Unwrap exposes the kaiping error.
func (e *ImportError) Unwrap() error { return e.kerr }

// importColumns are the columns of an import file: the Chinese header a centre's template
// uses, or the English field name. Starred ones are required.
var importColumns = []struct {
	key, zh  string
	required bool
}{
	{"code", "专家编号", true},
	{"name", "姓名", true},
	{"phone", "手机", false},
	{"email", "电子邮箱", false},
	{"employer", "工作单位", true},
	{"titles", "职称", false},
	{"specialties", "评标专业", true},
	{"city", "所在城市", true},
	{"lat", "纬度", false},
	{"lon", "经度", false},
	{"status", "状态", false},
}

// columnOfCode names the column a validation error code is about.
var columnOfCode = map[string]string{
	"expert.code": "专家编号", "expert.name": "姓名", "expert.phone": "手机", "expert.email": "电子邮箱", "expert.employer": "工作单位",
	"expert.titles": "职称", "expert.specialties": "评标专业", "expert.specialty_unknown": "评标专业",
	"expert.specialty_level": "评标专业", "expert.city": "所在城市", "expert.coordinates": "纬度/经度",
	"expert.status": "状态",
}

// maxImportRows bounds one import file.
const maxImportRows = 20000

// ParseExpertsCSV reads an import file: UTF-8 (with or without BOM) or, as Excel saves it on
// Chinese Windows, GB18030. The first row names the columns (importColumns, in any order);
// lists inside a cell (职称, 评标专业) are separated by ；; 、 or spaces. Every bad row gets
// one RowError (its first problem) and the result is an *ImportError; a file that cannot be
// read as CSV at all is KindInvalid "expert.import_format".
func ParseExpertsCSV(r io.Reader) ([]ImportRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, kaiping.Internal("evaluation.ParseExpertsCSV", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		if data, err = simplifiedchinese.GB18030.NewDecoder().Bytes(data); err != nil {
			return nil, invalid("expert.import_format", "文件编码无法识别，请另存为 UTF-8 编码的 CSV")
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid("expert.import_format", "文件为空，第 1 行须为表头")
	}
	if err != nil {
		return nil, invalid("expert.import_format", "CSV 格式错误：%v", err)
	}
	index, herrs := importHeader(header)
	if herrs != nil {
		return nil, NewImportError(herrs)
	}
	var rows []ImportRow
	var errs []RowError
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			errs = append(errs, RowError{Row: line, Column: "-", Message: "CSV 格式错误：" + csvProblem(err)})
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rows)+len(errs) >= maxImportRows {
			return nil, invalid("expert.import_too_large", "一次最多导入 %d 名专家，请分批导入", maxImportRows)
		}
		if blank(rec) {
			continue
		}
		if col, terr := uncleanCell(rec, header); terr != nil {
			errs = append(errs, RowError{Row: line, Column: col, Message: terr.(*kaiping.Error).Message})
			continue
		}
		e, rerr := importRecord(rec, index, len(header))
		if rerr == nil {
			if first, dup := seen[e.Code]; dup {
				rerr = &RowError{Column: "专家编号", Message: fmt.Sprintf("专家编号 %s 与第 %d 行重复", e.Code, first)}
			}
		}
		if rerr != nil {
			rerr.Row = line
			errs = append(errs, *rerr)
			continue
		}
		seen[e.Code] = line
		rows = append(rows, ImportRow{Row: line, Expert: e})
	}
	if errs != nil {
		return nil, NewImportError(errs)
	}
	if len(rows) == 0 {
		return nil, invalid("expert.import_empty", "文件只有表头，没有专家数据")
	}
	return rows, nil
}

func importHeader(header []string) (map[string]int, []RowError) {
	index := map[string]int{}
	var errs []RowError
	for i, h := range header {
		h = strings.TrimSpace(h)
		key := ""
		for _, c := range importColumns {
			if h == c.key || h == c.zh {
				key = c.key
			}
		}
		switch {
		case key == "":
			errs = append(errs, RowError{Row: 1, Column: h, Message: fmt.Sprintf("未知的列“%s”", h)})
		case index[key] != 0:
			errs = append(errs, RowError{Row: 1, Column: h, Message: fmt.Sprintf("列“%s”重复", h)})
		default:
			index[key] = i + 1 // 0 means absent
		}
	}
	for _, c := range importColumns {
		if c.required && index[c.key] == 0 {
			errs = append(errs, RowError{Row: 1, Column: c.zh, Message: fmt.Sprintf("缺少必填列“%s”", c.zh)})
		}
	}
	return index, errs
}

func importRecord(rec []string, index map[string]int, width int) (Expert, *RowError) {
	if len(rec) != width {
		return Expert{}, &RowError{Column: "-", Message: fmt.Sprintf("本行有 %d 列，表头有 %d 列", len(rec), width)}
	}
	get := func(key string) string {
		if i := index[key]; i > 0 {
			return strings.TrimSpace(rec[i-1])
		}
		return ""
	}
	e := Expert{
		Code: get("code"), Name: get("name"), Phone: get("phone"), Email: get("email"), Employer: get("employer"),
		Titles: splitList(get("titles")), Specialties: splitList(get("specialties")),
		Status: statusOf(get("status")),
	}
	e.City = get("city")
	if c, ok := CityByName(e.City); ok {
		e.City = c.Code
	}
	for _, f := range []struct {
		key, col string
		dst      *float64
	}{{"lat", "纬度", &e.Lat}, {"lon", "经度", &e.Lon}} {
		if s := get(f.key); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return Expert{}, &RowError{Column: f.col, Message: fmt.Sprintf("“%s”不是数字", s)}
			}
			*f.dst = v
		}
	}
	if err := e.Validate(); err != nil {
		col, ok := columnOfCode[kaiping.CodeOf(err)]
		if !ok {
			col = "-"
		}
		var ke *kaiping.Error
		errors.As(err, &ke)
		return Expert{}, &RowError{Column: col, Message: ke.Message}
	}
	return e, nil
}

// statusOf maps the status cell, in Chinese or English, to a status; anything else is kept
// as is for Validate to refuse.
func statusOf(s string) ExpertStatus {
	switch s {
	case "", "正常":
		return StatusActive
	case "暂停":
		return StatusSuspended
	case "请假":
		return StatusOnLeave
	}
	return ExpertStatus(s)
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == '；' || r == '、' || r == ',' || r == '，' || r == ' ' || r == '\u3000'
	})
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return "引号不匹配"
		}
		return pe.Err.Error()
	}
	return err.Error()
}

// CityByName returns the city called name, with or without its 市/州 suffix.
func CityByName(name string) (City, bool) {
	for _, c := range Cities() {
		if name == c.Name || name+"市" == c.Name {
			return c, true
		}
	}
	return City{}, false
}

// uncleanCell finds the first cell with bidirectional or control characters
// (kaiping.CheckText), which would make an expert's name print other than it is stored.
func uncleanCell(rec, header []string) (string, error) {
	for i, v := range rec {
		col := "-"
		if i < len(header) {
			col = header[i]
		}
		if err := kaiping.CheckText(col, v, kaiping.MultiLine); err != nil {
			return col, err
		}
	}
	return "", nil
}
