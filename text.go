package kaiping

import (
	"unicode"
)

// TextMode says which layout characters a text field may hold.
type TextMode int

// The text modes.
const (
	// MultiLine allows newline, carriage return and tab: objections, answers, reasons.
	MultiLine TextMode = iota
	// SingleLine allows none of them: names, titles, codes.
	SingleLine
)

// CheckText is the one check of free text entering the platform (JSON bodies through
// httpapi.DecodeJSON, imported files). It refuses the Unicode bidirectional controls
// (U+202A–U+202E, U+2066–U+2069), with which a record can show a bidder's name or a price
// in an order other than the one stored and signed ("Trojan Source"), and control characters
// (C0, DEL, C1), which no printed record can show; newline, carriage return and tab are
// allowed in MultiLine text. field names the offending field in the message.
func CheckText(field, s string, mode TextMode) error {
	for _, r := range s {
		switch {
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return Errorf(KindInvalid, "text.bidi_control",
				"字段 %s 含有双向文字控制字符（U+%04X），会改变文字的显示顺序，已拒绝", field, r)
		case (r == '\n' || r == '\r' || r == '\t') && mode == MultiLine:
		case unicode.IsControl(r):
			return Errorf(KindInvalid, "text.control_character",
				"字段 %s 含有控制字符（U+%04X），已拒绝", field, r)
		}
	}
	return nil
}
