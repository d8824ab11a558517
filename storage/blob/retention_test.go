package blob_test

import (
	"testing"
	"time"

	"github.com/kaiping/kaiping/storage/blob"
)

func TestPeriodFrom(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name   string
		period blob.Period
		now    time.Time
		want   time.Time // zero: no retention
	}{
		{"archive", blob.DefaultArchiveRetention, time.Date(2026, 5, 20, 10, 0, 0, 0, cst), time.Date(2041, 5, 20, 10, 0, 0, 0, cst)},
		// 15 calendar years from a leap day end on 1 March, not 15×365 days later.
		{"archive from leap day", blob.DefaultArchiveRetention, time.Date(2028, 2, 29, 0, 0, 0, 0, cst), time.Date(2043, 3, 1, 0, 0, 0, 0, cst)},
		{"one day", blob.Period{Days: 1}, time.Date(2026, 12, 31, 23, 0, 0, 0, cst), time.Date(2027, 1, 1, 23, 0, 0, 0, cst)},
		{"months", blob.Period{Months: 6}, time.Date(2026, 8, 31, 0, 0, 0, 0, cst), time.Date(2027, 3, 3, 0, 0, 0, 0, cst)},
		{"zero", blob.Period{}, time.Date(2026, 1, 1, 0, 0, 0, 0, cst), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.period.From(tt.now)
			if tt.want.IsZero() {
				if !got.IsZero() {
					t.Errorf("From = %+v, want no retention", got)
				}
				return
			}
			if got.Mode != blob.Compliance || !got.RetainUntil.Equal(tt.want) {
				t.Errorf("From(%s) = %+v, want COMPLIANCE until %s", tt.now, got, tt.want)
			}
		})
	}
}
