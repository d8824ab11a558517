package opening

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/signaling"
)

// HallConfig tunes the opening hall.
type HallConfig struct {
	// Window is the decrypt window's length when the host gives none; the host may give a
	// length from MinWindow to MaxWindow.
	Window, MinWindow, MaxWindow time.Duration
	// ConfirmWindow is how long bidders have to confirm the record or object; a bidder who
	// does neither is recorded as not having confirmed (视为认可) when the hall closes.
	ConfirmWindow time.Duration
	// QueueCapacity is how many verified keys may wait for verification; Workers how many
	// envelopes are verified at once (0: GOMAXPROCS).
	QueueCapacity int
	Workers       int
	// RetryBase and RetryMax bound the backoff between verifications our storage failed:
	// the first waits about RetryBase, each next one twice as long, at most RetryMax, with
	// jitter so that a storage server coming back is not hit by every envelope at once.
	// Nothing gives up: a key handed in on time is verified once storage is back.
	RetryBase, RetryMax time.Duration
	// BusyRetry is the retry hint given with "hall.busy".
	BusyRetry time.Duration
	// DueInterval is how often Run looks for windows and periods that ended.
	DueInterval time.Duration
	// RequeueAfter is how long a key may stay queued in the database before a replica
	// that does not hold it in memory queues it again (after a restart, or when a rescue
	// found the queue full).
	RequeueAfter time.Duration
}

// DefaultHallConfig is a 30-minute window (5 minutes to 2 hours when the host chooses), 30
// minutes to confirm, 1,024 waiting places, one worker per core, and verifications our
// storage failed tried again after 0.2 s, 0.4 s, … up to every 10 s.
var DefaultHallConfig = HallConfig{
	Window: 30 * time.Minute, MinWindow: 5 * time.Minute, MaxWindow: 2 * time.Hour,
	ConfirmWindow: 30 * time.Minute, QueueCapacity: 1024, RetryBase: 200 * time.Millisecond, RetryMax: 10 * time.Second,
	BusyRetry: 5 * time.Second, DueInterval: 2 * time.Second, RequeueAfter: time.Minute,
}

// retryDelay is the backoff before the next verification of an envelope our storage failed
// tries times: RetryBase doubled per try up to RetryMax, of which a random half (full jitter
// on the upper half).
func (c HallConfig) retryDelay(tries int) time.Duration {
	base, maxDelay := max(c.RetryBase, time.Millisecond), max(c.RetryMax, c.RetryBase, time.Millisecond)
	d, tries := maxDelay, max(tries, 1)
	if tries < 32 && base<<(tries-1) < maxDelay {
		d = base << (tries - 1)
	}
	return d/2 + rand.N(d/2+1)
}

func (c HallConfig) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// OpenObject opens a stored envelope version for reading, from the start.
type OpenObject func(ctx context.Context, key, version string) (io.ReadCloser, error)

// Hall runs the online opening halls (不见面开标大厅) of every section: the state machine
// from the sealed bid set to the confirmed opening record, check-in, unlocking through a
// bounded verification queue, the rescue plan, the record, confirmations and objections.
type Hall struct {
	store HallStore
	open  OpenObject
	// keys wraps the file keys handed in before they are stored, and unwraps them to verify.
	keys  KeyWrapper
	clock kaiping.Clock
	log   *slog.Logger
	cfg   HallConfig
	queue *verifyQueue
	// records archives each record once published (ExportRecords); nil archives nothing.
	records *RecordExporter
	// media broadcasts each opening (StreamWith); nil broadcasts nothing.
	media signaling.Media
	// ping says whether object storage answers (CheckStorageWith); nil assumes it does.
	ping   func(context.Context) error
	health storageHealth
}

// CheckStorageWith has the hall ask ping whether object storage answers before it publishes
// a record (which is archived there) and on the host's board.
func (h *Hall) CheckStorageWith(ping func(context.Context) error) { h.ping = ping }

// NewHall returns the hall service. It verifies nothing until Run starts its workers.
func NewHall(store HallStore, open OpenObject, keys KeyWrapper, clock kaiping.Clock, log *slog.Logger, cfg HallConfig) *Hall {
	if cfg.QueueCapacity < 1 {
		cfg.QueueCapacity = 1
	}
	return &Hall{store: store, open: open, keys: keys, clock: clock, log: log, cfg: cfg, queue: newVerifyQueue(cfg.QueueCapacity)}
}

// Run verifies queued envelopes on the configured number of workers and, every DueInterval,
// closes the decrypt windows and confirmation periods that ended (Due), until ctx ends.
func (h *Hall) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range h.cfg.workers() {
		wg.Go(func() { h.work(ctx) })
	}
	t := time.NewTicker(h.cfg.DueInterval)
	defer t.Stop()
	for {
		if err := h.Due(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("hall due", "err", err)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
	}
}

// Due does what the clock asks of every hall: at the end of a decrypt window it publishes
// the record (once every key handed in before the end is verified); at the end of the
// confirmation period it closes the hall (unless objections wait for an answer). It also
// queues again envelopes left queued in the database but not in this process (after a
// restart). Safe to run on several replicas at once: every change is checked under the
// hall's row lock.
func (h *Hall) Due(ctx context.Context) error {
	now := h.clock.Now()
	if err := kaiping.Synchronised(h.clock); err != nil {
		// No window ends and no confirmation period runs out on an untrusted clock (the
		// clock monitor has raised the alarm); the verification queue goes on, it judges
		// no time.
		return h.requeue(ctx, now)
	}
	due, err := h.store.DueHalls(ctx, now)
	if err != nil {
		return err
	}
	a := kaiping.SystemActor(now)
	for _, st := range due {
		t, err := h.store.Tender(ctx, st.Tender)
		if err != nil {
			return err
		}
		sec, err := t.Section(string(st.Section))
		if err != nil {
			return err
		}
		switch st.State {
		case HallDecrypting:
			_, err = h.publish(ctx, a, t, sec, BySystem)
		case HallConfirming:
			_, err = h.close(ctx, a, t, sec, BySystem)
		}
		switch kaiping.CodeOf(err) {
		case "hall.storage_unhealthy":
			// The window stays open on our outage; the board says why.
			h.log.Warn("decrypt window ended while object storage fails: publication waits", "tender_id", t.ID, "section_id", sec.ID, "err", err)
		case "hall.verifying", "hall.objections_open", "hall.state":
			// Not yet, or another replica was first.
		default:
			if err != nil {
				return err
			}
			h.log.Info("hall moved on its time", "tender_id", t.ID, "section_id", sec.ID, "from", st.State)
		}
	}
	return h.requeue(ctx, now)
}

// requeue puts back on the queue the envelopes the database says have been queued for
// RequeueAfter that this process does not hold, as many as there are free places, after
// queuing again those an older version left in error (our failure) with their key.
func (h *Hall) requeue(ctx context.Context, now time.Time) error {
	if n, err := h.store.ReverifyErrors(ctx); err != nil {
		return err
	} else if n > 0 {
		h.log.Info("envelopes left in error by our side queued again for verification", "envelopes", n)
	}
	queued, err := h.store.QueuedEnvelopes(ctx, now.Add(-h.cfg.RequeueAfter))
	if err != nil {
		return err
	}
	fields := map[kaiping.ID][]SummaryField{}
	for _, e := range queued {
		if h.queue.tracks(e.ID) {
			continue
		}
		t, ok := fields[e.Section]
		if !ok {
			ten, err := h.tenderOfSection(ctx, e)
			if err != nil {
				return err
			}
			t, fields[e.Section] = ten.SummaryFields, ten.SummaryFields
		}
		if !h.queue.reserve() {
			return nil
		}
		h.queue.push(verifyJob{env: e, fields: t})
	}
	return nil
}

func (h *Hall) tenderOfSection(ctx context.Context, e HallEnvelope) (Tender, error) {
	st, err := h.store.Hall(ctx, e.Section)
	if err != nil {
		return Tender{}, err
	}
	return h.store.Tender(ctx, st.Tender)
}

// section loads a tender and resolves one of its sections.
func (h *Hall) section(ctx context.Context, tenderID kaiping.ID, sectionRef string) (Tender, Section, error) {
	t, err := h.store.Tender(ctx, tenderID)
	if err != nil {
		return Tender{}, Section{}, err
	}
	sec, err := t.Section(sectionRef)
	return t, sec, err
}

// load resolves a tender's section and returns it with its hall.
func (h *Hall) load(ctx context.Context, tenderID kaiping.ID, sectionRef string) (Tender, Section, HallStatus, error) {
	t, sec, err := h.section(ctx, tenderID, sectionRef)
	if err != nil {
		return Tender{}, Section{}, HallStatus{}, err
	}
	st, err := h.status(ctx, t, sec)
	return t, sec, st, err
}

// status returns a section's hall; before its bid set is sealed the hall has no row and
// stands at bidding.
func (h *Hall) status(ctx context.Context, t Tender, sec Section) (HallStatus, error) {
	st, err := h.store.Hall(ctx, sec.ID)
	if kaiping.CodeOf(err) == "hall.not_open" {
		return HallStatus{Tender: t.ID, Section: sec.ID, State: HallBidding, MinBids: t.MinBids, Deadline: t.Deadline}, nil
	}
	return st, err
}

// TransitionRequest is a host's move of the hall: to checking_in (open check-in),
// decrypting (open the decrypt window, for WindowMinutes or the default), published
// (publish the opening record), confirming (ask bidders to confirm) or closed.
type TransitionRequest struct {
	To            HallState `json:"to"`
	WindowMinutes int       `json:"window_minutes,omitempty"`
}

// Move makes the host's move of a section's hall, checked against the state machine.
func (h *Hall) Move(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req TransitionRequest) (HallStatus, error) {
	t, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return HallStatus{}, err
	}
	switch {
	case req.To == HallFailed:
		// Failing (流标) follows from the bids, never from a host's say-so.
		return HallStatus{}, kaiping.E(kaiping.KindInvalid, "hall.transition", "流标由开标结果决定，主持人不能直接宣布：请公布开标记录")
	case req.To == HallQualified:
		return HallStatus{}, kaiping.E(kaiping.KindInvalid, "hall.transition", "双信封项目请通过“录入技术评审结果”进入第二轮（POST …/hall/qualification）")
	case req.To.Label() == string(req.To):
		return HallStatus{}, kaiping.Errorf(kaiping.KindInvalid, "hall.transition", "未知的开标大厅状态 %q", req.To)
	}
	if req.WindowMinutes != 0 && req.To != HallDecrypting {
		return HallStatus{}, invalid("hall.window_length", "只有开启解密时可以指定解密时长")
	}
	if st.State == HallBidding && req.To == HallCheckingIn && !a.At.Before(t.Deadline) {
		// The deadline has passed and the set is not sealed yet: say why, and for how long.
		return HallStatus{}, kaiping.Errorf(kaiping.KindConflict, "hall.state",
			"投标已截止，投标文件集合正在封存（截止后 %d 秒，且截止前到达的递交校验完毕后立即封存），请稍候再开启签到", int(SealSettle/time.Second))
	}
	if err := CheckTransition(st.State, req.To, ByHost); err != nil {
		return HallStatus{}, err
	}
	// Every move records its time, and the later ones judge the check-in period, the
	// decrypt window's end or the confirmation period: none on an untrusted clock.
	if err := kaiping.Synchronised(h.clock); err != nil {
		return HallStatus{}, err
	}
	switch req.To {
	case HallCheckingIn:
		st, err := h.store.Transition(ctx, a, sec.ID, 0, Transition{To: HallCheckingIn, By: ByHost})
		if err == nil {
			h.streamFollows(ctx, st)
		}
		return st, err
	case HallDecrypting:
		if t.NeedsCosign(CosignDecrypting) {
			return HallStatus{}, cosignRequired(CosignDecrypting)
		}
		return h.openWindow(ctx, a, t, sec, st, req.WindowMinutes, nil)
	case HallPublished:
		return h.publish(ctx, a, t, sec, ByHost)
	case HallConfirming:
		ends := a.At.Add(h.cfg.ConfirmWindow)
		return h.store.Transition(ctx, a, sec.ID, 0, Transition{To: HallConfirming, By: ByHost, ConfirmEndsAt: &ends})
	}
	return h.close(ctx, a, t, sec, ByHost)
}

// windowCheck checks that the decrypt window may open at at for the given length (0: the
// default): the hall is checking in and the tender's check-in period has run.
func (h *Hall) windowCheck(t Tender, st HallStatus, minutes int, at time.Time) (time.Duration, error) {
	if err := kaiping.Synchronised(h.clock); err != nil {
		return 0, err
	}
	if err := CheckTransition(st.State, HallDecrypting, ByHost); err != nil {
		return 0, err
	}
	length, err := h.windowLength(minutes)
	if err != nil {
		return 0, err
	}
	return length, st.checkInRan(t.CheckInMinutes, at)
}

// openWindow opens the decrypt window (开启解密) for minutes (0: the default), with detail
// added to its ledger entry (a co-signature's proposal and signers).
func (h *Hall) openWindow(ctx context.Context, a kaiping.Actor, t Tender, sec Section, st HallStatus, minutes int, detail map[string]any) (HallStatus, error) {
	length, err := h.windowCheck(t, st, minutes, a.At)
	if err != nil {
		return HallStatus{}, err
	}
	if err := h.cacheHeaders(ctx, t, sec, st.Round); err != nil {
		return HallStatus{}, err
	}
	opens, closes := a.At, a.At.Add(length)
	d := map[string]any{"window_minutes": int(length / time.Minute)}
	for k, v := range detail {
		d[k] = v
	}
	return h.store.Transition(ctx, a, sec.ID, 0, Transition{To: HallDecrypting, By: ByHost,
		WindowOpensAt: &opens, WindowClosesAt: &closes, Detail: d})
}

func (h *Hall) windowLength(minutes int) (time.Duration, error) {
	if minutes == 0 {
		return h.cfg.Window, nil
	}
	d := time.Duration(minutes) * time.Minute
	if d < h.cfg.MinWindow || d > h.cfg.MaxWindow {
		return 0, kaiping.Errorf(kaiping.KindInvalid, "hall.window_length", "解密时长须在 %d 至 %d 分钟之间",
			int(h.cfg.MinWindow/time.Minute), int(h.cfg.MaxWindow/time.Minute))
	}
	return d, nil
}

// maxRetries bounds how often a change computed from a hall that moved on meanwhile is
// computed again.
const maxRetries = 8

// untilSettled makes a change computed from the hall as it stood, and computes it again
// while the store answers that the hall moved on meanwhile ("hall.retry").
func untilSettled(change func() (HallStatus, error)) (HallStatus, error) {
	for attempt := 1; ; attempt++ {
		st, err := change()
		if kaiping.CodeOf(err) != "hall.retry" || attempt == maxRetries {
			return st, err
		}
	}
}

// publish ends the decrypt window: once the window is over, or every envelope of the round
// is decrypted, and no key handed in is still being verified, it classifies what was not
// decrypted, builds the record and publishes it (or fails the hall, 流标, with too few
// opened bids). While our storage fails a key handed in on time, or does not answer at all,
// the window does not end: "hall.storage_unhealthy" (hall_storage.go).
func (h *Hall) publish(ctx context.Context, a kaiping.Actor, t Tender, sec Section, by By) (st HallStatus, err error) {
	defer h.streamAfter(ctx, &st, &err)
	return untilSettled(func() (HallStatus, error) {
		st, err := h.store.Hall(ctx, sec.ID)
		if err != nil {
			return HallStatus{}, err
		}
		if err := CheckTransition(st.State, HallPublished, by); err != nil {
			return HallStatus{}, err
		}
		envs, err := h.store.HallEnvelopes(ctx, sec.ID, "")
		if err != nil {
			return HallStatus{}, err
		}
		closedAt := st.windowEnd()
		over := !a.At.Before(closedAt)
		pending, ours, undecrypted := 0, 0, 0
		for _, e := range envs {
			if !t.Plan.OpensIn(st.Round, e.Kind) || e.State == EnvRetained {
				continue
			}
			switch {
			case e.StorageWait() || e.reverifiable():
				ours++
			case e.State == EnvQueued:
				pending++
			case e.State == EnvDecrypted:
			default:
				undecrypted++
			}
		}
		switch {
		case ours > 0:
			return HallStatus{}, errStorageWait(ours)
		case pending > 0:
			return HallStatus{}, kaiping.Errorf(kaiping.KindConflict, "hall.verifying", "仍有 %d 份投标文件正在验证，验证完成后即可公布开标记录", pending)
		case !over && undecrypted > 0:
			return HallStatus{}, kaiping.Errorf(kaiping.KindConflict, "hall.window_open", "解密窗口尚未结束，仍有 %d 份投标文件未解密", undecrypted)
		}
		if !over {
			closedAt = a.At
		}
		if err := h.storageAnswers(ctx); err != nil {
			return HallStatus{}, err
		}
		set, err := h.store.BidSet(ctx, sec.ID)
		if err != nil {
			return HallStatus{}, err
		}
		built, err := h.buildRoundRecord(ctx, recordInput{tender: t, section: sec, set: set, hall: st, envelopes: envs, closedAt: closedAt, at: a.At})
		if err != nil {
			return HallStatus{}, err
		}
		p := Publication{To: HallPublished, By: by, Outcomes: built.outcomes,
			Record: PublishedRecord{Section: sec.ID, Digest: built.digest, Record: built.canonical, PublishedAt: a.At}}
		if built.failed != "" {
			// 流标 ends the hall: its final record (the objections raised so far, the
			// outcomes) is stored and archived with the record.
			p.To, p.Reason = HallFailed, built.failed
			objections, err := h.store.Objections(ctx, sec.ID, "")
			if err != nil {
				return HallStatus{}, err
			}
			if p.Final, err = finalOf(finalInput{tender: t, section: sec, hall: st, record: p.Record,
				objections: objections, by: by, at: a.At}); err != nil {
				return HallStatus{}, err
			}
		}
		published, err := h.store.Publish(ctx, a, sec.ID, st.Version, p)
		if err == nil {
			h.archive(ctx, published, StagePublished)
			if p.Final != nil {
				h.archive(ctx, published, StageFinal)
			}
		}
		return published, err
	})
}

// close ends the hall once every objection has an answer, storing with the close the final
// record (who confirmed the record and who did not, the objections and answers, each bid's
// outcome), built from what it read at the version the close is made at, and archives it.
func (h *Hall) close(ctx context.Context, a kaiping.Actor, t Tender, sec Section, by By) (st HallStatus, err error) {
	defer h.streamAfter(ctx, &st, &err)
	return untilSettled(func() (HallStatus, error) {
		st, err := h.store.Hall(ctx, sec.ID)
		if err != nil {
			return HallStatus{}, err
		}
		if err := CheckTransition(st.State, HallClosed, by); err != nil {
			return HallStatus{}, err
		}
		objections, err := h.store.Objections(ctx, sec.ID, "")
		if err != nil {
			return HallStatus{}, err
		}
		open := 0
		for _, o := range objections {
			if o.AnsweredAt == nil {
				open++
			}
		}
		if open > 0 {
			return HallStatus{}, kaiping.Errorf(kaiping.KindConflict, "hall.objections_open", "尚有 %d 条异议未答复，答复后才能结束开标", open)
		}
		confirmed, err := h.store.Confirmations(ctx, sec.ID)
		if err != nil {
			return HallStatus{}, err
		}
		if by == ByHost && st.ConfirmEndsAt != nil && a.At.Before(*st.ConfirmEndsAt) {
			if err := h.everyoneAnswered(ctx, sec, st, confirmed, objections); err != nil {
				return HallStatus{}, err
			}
		}
		published, err := h.store.Record(ctx, sec.ID)
		if err != nil {
			return HallStatus{}, err
		}
		final, err := finalOf(finalInput{tender: t, section: sec, hall: st, record: published,
			confirmed: confirmed, objections: objections, by: by, at: a.At})
		if err != nil {
			return HallStatus{}, err
		}
		closed, err := h.store.Transition(ctx, a, sec.ID, st.Version, Transition{To: HallClosed, By: by,
			Detail: map[string]any{"confirmed": len(confirmed), "bidders": st.Bidders, "objections": len(objections)},
			Final:  final})
		if err == nil {
			h.archive(ctx, closed, StageFinal)
		}
		return closed, err
	})
}

// everyoneAnswered refuses to end the confirmation period early unless every bidder of the
// round (its envelopes in the round, not retained) has confirmed the record or objected this
// round: a bidder keeps the whole period to read the record before it counts as not having
// confirmed (视为认可).
func (h *Hall) everyoneAnswered(ctx context.Context, sec Section, st HallStatus, confirmed []Confirmation, objections []Objection) error {
	t, err := h.store.Tender(ctx, st.Tender)
	if err != nil {
		return err
	}
	envs, err := h.store.HallEnvelopes(ctx, sec.ID, "")
	if err != nil {
		return err
	}
	answered := map[kaiping.ID]bool{}
	for _, c := range confirmed {
		answered[c.Bidder] = true
	}
	for _, o := range objections {
		if st.CheckInOpenedAt == nil || !o.RaisedAt.Before(*st.CheckInOpenedAt) {
			answered[o.Bidder] = true
		}
	}
	waiting := map[kaiping.ID]bool{}
	for _, e := range envs {
		if t.Plan.OpensIn(st.Round, e.Kind) && e.State != EnvRetained && !answered[e.Bidder] {
			waiting[e.Bidder] = true
		}
	}
	if len(waiting) > 0 {
		return kaiping.Errorf(kaiping.KindConflict, "hall.confirm_period",
			"确认期至 %s（北京时间）结束，尚有 %d 家投标人未确认开标记录或提出异议，期满前不能结束开标", chinaDate(*st.ConfirmEndsAt), len(waiting))
	}
	return nil
}

// CheckIn checks bidder a in (签到) while the hall is checking in or decrypting. Checking in
// again changes nothing.
func (h *Hall) CheckIn(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string) (CheckIn, error) {
	_, sec, st, err := h.load(ctx, tenderID, sectionRef)
	if err != nil {
		return CheckIn{}, err
	}
	if err := st.Require(HallCheckingIn, HallDecrypting); err != nil {
		return CheckIn{}, err
	}
	c, _, err := h.store.CheckIn(ctx, a, sec.ID, a.Principal)
	return c, err
}
