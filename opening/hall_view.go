package opening

import (
	"context"
	"time"

	"github.com/kaiping/kaiping"
)

// HallView is what everyone in a hall sees: the tender and section, the hall's state and
// times, and the server's time, so a page can show a countdown and the client's offset.
type HallView struct {
	HallStatus
	StateLabel  string    `json:"state_label"`
	TenderCode  string    `json:"tender_code"`
	TenderTitle string    `json:"tender_title"`
	SectionCode string    `json:"section_code"`
	SectionName string    `json:"section_name"`
	ServerTime  time.Time `json:"server_time"`
	// ClockProblem says why the server's clock is not trusted now (kaiping.ClockHealth), so
	// the host's board and the bidders see why nothing moves on its time; "" when it is.
	ClockProblem string `json:"clock_problem,omitempty"`
}

// BidderHallView is a bidder's own view of the hall: its check-in, its envelopes with their
// state and place in the verification queue, the record once published, its confirmation
// and its objections.
type BidderHallView struct {
	HallView
	CheckedIn    *CheckIn         `json:"checked_in,omitempty"`
	Envelopes    []UnlockStatus   `json:"envelopes"`
	Record       *PublishedRecord `json:"record,omitempty"`
	Confirmation *Confirmation    `json:"confirmation,omitempty"`
	Objections   []Objection      `json:"objections"`
}

// BoardView is the host's and supervisors' view (主持人控制台): attendance, the status of
// every bidder's envelopes, the record, confirmations, objections, the queue, and object
// storage when it holds the window up.
type BoardView struct {
	HallView
	Board      []BidderBoard    `json:"board"`
	CheckedIn  int              `json:"checked_in"`
	Decrypted  int              `json:"decrypted"`
	Envelopes  int              `json:"envelopes"`
	Record     *PublishedRecord `json:"record,omitempty"`
	Objections []Objection      `json:"objections"`
	Queue      QueueStats       `json:"queue"`
	// Storage says whether object storage answers and what waits for it (hall_storage.go).
	Storage StorageStatus `json:"storage"`
}

// BidderBoard is one bidder's line on the host's board.
type BidderBoard struct {
	Bidder     kaiping.ID     `json:"bidder_id"`
	BidderName string         `json:"bidder_name"`
	CheckedIn  *time.Time     `json:"checked_in_at,omitempty"`
	Confirmed  *time.Time     `json:"confirmed_at,omitempty"`
	Envelopes  []UnlockStatus `json:"envelopes"`
}

func (h *Hall) view(t Tender, sec Section, st HallStatus) HallView {
	v := HallView{HallStatus: st, StateLabel: st.State.Label(), TenderCode: t.Code, TenderTitle: t.Title,
		SectionCode: sec.Code, SectionName: sec.Name, ServerTime: h.clock.Now()}
	v.ClockProblem = kaiping.MessageOf(kaiping.Synchronised(h.clock))
	return v
}

// BidderView is bidder a's view of a section's hall. Before the bid set is sealed any
// registered bidder sees the state; afterwards only the bidders in the set.
func (h *Hall) BidderView(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string) (BidderHallView, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return BidderHallView{}, err
	}
	v := BidderHallView{HallView: h.view(t, sec, st), Envelopes: []UnlockStatus{}, Objections: []Objection{}}
	if st.State == HallBidding {
		if _, err := h.store.Registration(ctx, sec.ID, a.Principal); err != nil {
			return BidderHallView{}, notBidder()
		}
		return v, nil
	}
	envs, err := h.ownEnvelopes(ctx, t, sec, a.Principal)
	if err != nil {
		return BidderHallView{}, err
	}
	for _, e := range envs {
		v.Envelopes = append(v.Envelopes, h.unlockStatus(e))
	}
	if c, err := h.store.CheckInOf(ctx, sec.ID, a.Principal); err == nil {
		v.CheckedIn = &c
	} else if !kaiping.IsKind(err, kaiping.KindNotFound) {
		return BidderHallView{}, err
	}
	if st.RecordDigest != "" {
		rec, err := h.store.Record(ctx, sec.ID)
		if err != nil {
			return BidderHallView{}, err
		}
		v.Record = &rec
		cs, err := h.store.Confirmations(ctx, sec.ID)
		if err != nil {
			return BidderHallView{}, err
		}
		for i := range cs {
			if cs[i].Bidder == a.Principal {
				v.Confirmation = &cs[i]
			}
		}
	}
	if v.Objections, err = h.store.Objections(ctx, sec.ID, a.Principal); err != nil {
		return BidderHallView{}, err
	}
	return v, nil
}

// Board is the host's and supervisors' view of a section's hall.
func (h *Hall) Board(ctx context.Context, tenderID kaiping.ID, sectionRef string) (BoardView, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return BoardView{}, err
	}
	v := BoardView{HallView: h.view(t, sec, st), Board: []BidderBoard{}, Objections: []Objection{}, Queue: h.queue.stats(),
		Storage: StorageStatus{Healthy: true}}
	v.Queue.Workers = h.cfg.workers()
	if st.State == HallBidding {
		return v, nil
	}
	envs, err := h.store.HallEnvelopes(ctx, sec.ID, "")
	if err != nil {
		return BoardView{}, err
	}
	checkins, err := h.store.CheckIns(ctx, sec.ID)
	if err != nil {
		return BoardView{}, err
	}
	confirmations, err := h.store.Confirmations(ctx, sec.ID)
	if err != nil {
		return BoardView{}, err
	}
	in := map[kaiping.ID]*time.Time{}
	for i := range checkins {
		in[checkins[i].Bidder] = &checkins[i].At
	}
	confirmed := map[kaiping.ID]*time.Time{}
	for i := range confirmations {
		confirmed[confirmations[i].Bidder] = &confirmations[i].At
	}
	index := map[kaiping.ID]int{}
	for _, e := range envs {
		if !t.Plan.OpensIn(st.Round, e.Kind) {
			continue
		}
		i, ok := index[e.Bidder]
		if !ok {
			i = len(v.Board)
			index[e.Bidder] = i
			v.Board = append(v.Board, BidderBoard{Bidder: e.Bidder, BidderName: e.BidderName,
				CheckedIn: in[e.Bidder], Confirmed: confirmed[e.Bidder]})
		}
		v.Board[i].Envelopes = append(v.Board[i].Envelopes, h.unlockStatus(e))
		v.Envelopes++
		if e.State == EnvDecrypted {
			v.Decrypted++
		}
	}
	v.CheckedIn = len(checkins)
	v.Storage = h.storageStatus(ctx, t, st, envs)
	if st.RecordDigest != "" {
		rec, err := h.store.Record(ctx, sec.ID)
		if err != nil {
			return BoardView{}, err
		}
		v.Record = &rec
	}
	if v.Objections, err = h.store.Objections(ctx, sec.ID, ""); err != nil {
		return BoardView{}, err
	}
	return v, nil
}

// Events returns a section's events after version after that the caller may read: all of
// them for an overseer; for a bidder in the sealed set those for all and its own; for a
// registered bidder with no bid in the set (it never bid, or withdrew) only those for all.
// A client that reconnects reads the view, then the events after the view's version.
func (h *Hall) Events(ctx context.Context, a kaiping.Actor, overseer bool, tenderID kaiping.ID, sectionRef string, after int64) ([]HallEvent, error) {
	_, sec, err := h.section(ctx, tenderID, sectionRef)
	if err != nil {
		return nil, err
	}
	r, err := h.eventReader(ctx, sec.ID, a.Principal, overseer)
	if err != nil {
		return nil, err
	}
	evs, err := h.store.Events(ctx, sec.ID, after, r, maxEventsPage)
	return r.Filter(evs), err
}

// eventReader is who p is to the section's events: an overseer (as the caller decided); a
// bidder in the sealed set; or a registered bidder with none of its bids in the set, who
// reads only what is for all. Anyone else is "hall.not_bidder".
func (h *Hall) eventReader(ctx context.Context, section, p kaiping.ID, overseer bool) (EventReader, error) {
	if overseer {
		return EventReader{Overseer: true}, nil
	}
	if _, err := h.store.Registration(ctx, section, p); err != nil {
		return EventReader{}, notBidder()
	}
	envs, err := h.store.HallEnvelopes(ctx, section, p)
	if err != nil || len(envs) == 0 {
		return EventReader{}, err
	}
	return EventReader{Bidder: p}, nil
}

// maxEventsPage bounds one answer of Events; a client asks again after the last version.
const maxEventsPage = 500
