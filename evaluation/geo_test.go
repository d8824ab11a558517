package evaluation_test

import (
	"testing"

	"github.com/kaiping/kaiping/evaluation"
)

func TestDistance(t *testing.T) {
	// 郑州 to 开封 is about 70 km as the crow flies; 郑州 to 成都 about 1,010 km.
	if d := evaluation.DistanceKm(34.7466, 113.6254, 34.7973, 114.3076); d < 60 || d > 70 {
		t.Errorf("郑州–开封 %.1f km", d)
	}
	if d := evaluation.DistanceKm(34.7466, 113.6254, 30.5728, 104.0668); d < 980 || d > 1040 {
		t.Errorf("郑州–成都 %.1f km", d)
	}
	if d := evaluation.DistanceKm(30, 100, 30, 100); d != 0 {
		t.Errorf("zero distance %.3f", d)
	}
}
