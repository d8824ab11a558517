package app

import (
	"context"
	"log/slog"

	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/notice"
)

// expertNotices puts the evaluation's notices to experts in their inbox and on the
// configured channels (e-mail, the SMS/voice gateway), keeping the log line hosts read.
type expertNotices struct {
	notices *notice.Service
	log     *slog.Logger
}

var _ evaluation.Notifier = expertNotices{}

// expertPage is where an expert answers a draw and finds their seat.
const expertPage = "/evaluation/expert.html"

// Notify implements evaluation.Notifier.
func (e expertNotices) Notify(ctx context.Context, n evaluation.Notice) error {
	_ = evaluation.LogNotifier{Log: e.log}.Notify(ctx, n) // never fails
	title := "评标抽取通知"
	if n.Kind == evaluation.NoticeAssigned {
		title = "评标工位与签到通知"
	}
	_, err := e.notices.Send(ctx, notice.Notice{Principal: n.Principal, Kind: n.Kind, Title: title, Body: n.Text,
		Link: expertPage}, notice.Address{Email: n.Email, Phone: n.Phone})
	return err
}
