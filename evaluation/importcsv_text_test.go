package evaluation_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaiping/kaiping/evaluation"
)

// TestImportCSVRefusesHiddenCharacters: a name that prints in another order than it is stored
// (bidi controls) or with invisible control characters is a bad row.
func TestImportCSVRefusesHiddenCharacters(t *testing.T) {
	const header = "专家编号,姓名,手机,工作单位,职称,评标专业,所在城市,纬度,经度,状态\n"
	tests := []struct{ name, row, column string }{
		{"right-to-left override in a name", "HN-0101,\u202e强赵,13912345678,河南建设集团,高级工程师,A0101,郑州市,,,正常\n", "姓名"},
		{"isolate in an employer", "HN-0101,赵强,13912345678,\u2067河南建设集团\u2069,高级工程师,A0101,郑州市,,,正常\n", "工作单位"},
		{"escape character", "HN-0101,赵强,13912345678,河南建设集团,高级\x1b工程师,A0101,郑州市,,,正常\n", "职称"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evaluation.ParseExpertsCSV(strings.NewReader(header + tt.row))
			var ie *evaluation.ImportError
			if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Column != tt.column || ie.Rows[0].Row != 2 {
				t.Fatalf("err = %v, want one bad row 2 in column %s", err, tt.column)
			}
		})
	}
	if _, err := evaluation.ParseExpertsCSV(strings.NewReader(header + "HN-0101,赵强,13912345678,河南建设集团,高级工程师,A0101,郑州市,,,正常\n")); err != nil {
		t.Fatalf("a clean row: %v", err)
	}
}
