package opening

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/kaiping/kaiping"
)

// MaxSummaryBytes bounds a decrypted summary envelope (开标一览表): it is read into memory
// to be parsed, and a one-page form of fields is far smaller.
const MaxSummaryBytes = 1 << 20

// Limits of summary field values.
const (
	maxDays      = 100000
	maxTextRunes = 500
)

var (
	moneyPattern   = regexp.MustCompile(`^(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?$`)
	daysPattern    = regexp.MustCompile(`^[1-9][0-9]{0,5}$`)
	percentPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,2})(\.[0-9]{1,4})?$`)
)

// ParseSummary reads a decrypted summary envelope: a JSON object holding the tender's
// summary fields, each checked by its type and returned normalized as text, keyed by field.
// Money is yuan with two decimals ("12345678.90"), days a whole number, percent a number
// from 0 to 100 with at most 4 decimals, text at most 500 characters. A required field
// missing is "hall.summary_field_missing", a value not of its type
// "hall.summary_field_invalid", anything not a JSON object "hall.summary_malformed".
// Fields the tender does not name are not shown and not checked.
func ParseSummary(fields []SummaryField, plaintext []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(plaintext))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, kaiping.E(kaiping.KindInvalid, "hall.summary_malformed", "开标一览表不是 JSON 对象")
	}
	values := make(map[string]string, len(fields))
	for _, f := range fields {
		raw, ok := obj[f.Key]
		if !ok || string(raw) == "null" {
			if f.Required {
				return nil, kaiping.Errorf(kaiping.KindInvalid, "hall.summary_field_missing", "开标一览表缺少必填字段「%s」", f.Label)
			}
			continue
		}
		v, ok := fieldValue(f.Type, raw)
		if !ok || (v == "" && f.Required) {
			return nil, kaiping.Errorf(kaiping.KindInvalid, "hall.summary_field_invalid", "开标一览表字段「%s」的值不符合类型 %s", f.Label, f.Type)
		}
		if v != "" {
			values[f.Key] = v
		}
	}
	return values, nil
}

// fieldValue checks one value against its type and normalizes it.
func fieldValue(t FieldType, raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if t == FieldText || json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	switch t {
	case FieldMoney:
		if !moneyPattern.MatchString(s) {
			return "", false
		}
		whole, frac, _ := strings.Cut(s, ".")
		return whole + "." + (frac + "00")[:2], true
	case FieldDays:
		n, err := strconv.Atoi(s)
		return strconv.Itoa(n), err == nil && daysPattern.MatchString(s) && n <= maxDays
	case FieldPercent:
		f, err := strconv.ParseFloat(s, 64)
		return s, err == nil && percentPattern.MatchString(s) && f <= 100
	case FieldText:
		// Shown in the opening record every bidder confirms: no bidi or control characters.
		return s, len([]rune(s)) <= maxTextRunes && kaiping.CheckText("summary", s, kaiping.MultiLine) == nil
	}
	return "", false
}
