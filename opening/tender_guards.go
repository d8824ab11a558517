package opening

// Check-in period limits: bidders get at least DefaultCheckInMinutes unless the tender
// says otherwise, never less than a minute nor more than two hours.
const (
	DefaultCheckInMinutes = 15
	maxCheckInMinutes     = 120
)

// validateGuards fills and checks the settings that guard the opening's irreversible steps.
func (t *Tender) validateGuards() error {
	if t.CheckInMinutes == 0 {
		t.CheckInMinutes = DefaultCheckInMinutes
	}
	if t.CheckInMinutes < 1 || t.CheckInMinutes > maxCheckInMinutes {
		return invalid("tender.checkin_minutes", "签到时长须在 1 至 %d 分钟之间", maxCheckInMinutes)
	}
	return nil
}
