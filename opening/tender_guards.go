package opening

import (
	"slices"

	"github.com/kaiping/kaiping"
)

// CosignStep is an irreversible step of the opening that a tender may require a
// supervisor's co-signature for (监督会签).
type CosignStep string

// The steps a tender can guard with a co-signature.
const (
	// CosignDecrypting guards opening the decrypt window: at its close every bid not
	// decrypted is classified, and too few opened bids fail the tender (流标).
	CosignDecrypting CosignStep = "decrypting"
	// CosignQualification guards entering the technical stage's results of a two-envelope
	// tender: a bidder who did not pass keeps its price sealed for good.
	CosignQualification CosignStep = "qualification"
)

// Label is the step's Chinese name.
func (s CosignStep) Label() string {
	switch s {
	case CosignDecrypting:
		return "开启解密"
	case CosignQualification:
		return "录入技术评审结果"
	}
	return string(s)
}

// Check-in period limits: bidders get at least DefaultCheckInMinutes unless the tender
// says otherwise, never less than a minute nor more than two hours.
const (
	DefaultCheckInMinutes = 15
	maxCheckInMinutes     = 120
)

// NeedsCosign reports whether the tender guards step with a supervisor's co-signature.
func (t Tender) NeedsCosign(step CosignStep) bool { return slices.Contains(t.Cosign, step) }

// validateGuards fills and checks the settings that guard the opening's irreversible steps.
func (t *Tender) validateGuards() error {
	if t.CheckInMinutes == 0 {
		t.CheckInMinutes = DefaultCheckInMinutes
	}
	if t.CheckInMinutes < 1 || t.CheckInMinutes > maxCheckInMinutes {
		return invalid("tender.checkin_minutes", "签到时长须在 1 至 %d 分钟之间", maxCheckInMinutes)
	}
	seen := map[CosignStep]bool{}
	for _, s := range t.Cosign {
		if s != CosignDecrypting && s != CosignQualification {
			return kaiping.Errorf(kaiping.KindInvalid, "tender.cosign", "未知的会签环节 %q（可选：decrypting 开启解密、qualification 录入技术评审结果）", s)
		}
		if seen[s] {
			return invalid("tender.cosign", "会签环节 %s 重复", s)
		}
		seen[s] = true
	}
	if t.Cosign == nil {
		t.Cosign = []CosignStep{}
	}
	return nil
}
