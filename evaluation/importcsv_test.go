package evaluation_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

func TestParseCSVHeader(t *testing.T) {
	tests := map[string]string{
		"":            "expert.import_format",
		"code,name\n": "expert.import_rows",
		"code,name,employer,specialties,city,shoe_size\n": "expert.import_rows",
		"code,name,employer,specialties,city\n":           "expert.import_empty",
		"code,name,employer,specialties,city\n\"HN-1,x\n": "expert.import_rows",
	}
	for in, code := range tests {
		_, err := evaluation.ParseExpertsCSV(strings.NewReader(in))
		if kaiping.CodeOf(err) != code {
			t.Errorf("%q: %v, want %s", in, err, code)
		}
	}
	_, err := evaluation.ParseExpertsCSV(strings.NewReader("code,name\n"))
	var ie *evaluation.ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 3 || ie.Rows[0].Column != "工作单位" {
		t.Fatalf("missing columns: %v", err)
	}
}
