package evaluation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kaiping/kaiping"
)

// Notice kinds.
const (
	NoticeDrawn    = "draw.drawn"    // you were drawn; accept or decline before RespondBy
	NoticeAssigned = "draw.assigned" // your seat for the session
)

// Notice is a message to a drawn expert (抽取通知). It names neither the tender nor the
// tenderer: a notice is read on a phone, maybe by others, and the committee stays secret
// until the result is public. The expert sees the project after logging in.
type Notice struct {
	Kind       string     `json:"kind"`
	Draw       kaiping.ID `json:"draw_id"`
	Expert     kaiping.ID `json:"expert_id"`
	ExpertName string     `json:"expert_name"`
	Phone      string     `json:"phone,omitempty"`
	// Email and Principal are where else the notice goes: the expert's mailbox and the
	// inbox of their login (empty until they have one).
	Email     string     `json:"email,omitempty"`
	Principal kaiping.ID `json:"principal_id,omitempty"`
	Start     time.Time  `json:"session_start"`
	End       time.Time  `json:"session_end"`
	RespondBy time.Time  `json:"respond_by,omitempty"`
	Venue     string     `json:"venue,omitempty"`
	Address   string     `json:"address,omitempty"`
	Seat      string     `json:"seat,omitempty"`
	// Text is the message as an SMS or voice gateway would send it.
	Text string `json:"text"`
}

// Notifier tells drawn experts. The app puts the inbox, e-mail and the SMS/voice gateways
// behind it (package notice).
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// LogNotifier writes notices to the log: for development and for centres that phone their
// experts by hand from the host console.
type LogNotifier struct {
	Log *slog.Logger
}

// Notify logs n.
func (l LogNotifier) Notify(_ context.Context, n Notice) error {
	l.Log.Info("expert notice", "kind", n.Kind, "draw_id", n.Draw, "expert_id", n.Expert, "text", n.Text)
	return nil
}

// drawnText and assignedText are the notices' words.
func drawnText(name string, s, e, by time.Time) string {
	return fmt.Sprintf("%s专家：您被随机抽取参加 %s 至 %s 的评标，请于 %s 前登录开评系统确认是否参加。",
		name, minute(s), minute(e), minute(by))
}

func assignedText(name, venue, address, seat string, s time.Time) string {
	return fmt.Sprintf("%s专家：请于 %s 前到 %s（%s）%s 号工位签到评标，携带本人身份证。",
		name, minute(s), venue, address, seat)
}

func minute(t time.Time) string { return t.In(kaiping.BeijingTime).Format("2006-01-02 15:04") }
