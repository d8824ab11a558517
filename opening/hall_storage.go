package opening

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// What the hall does when object storage fails during an opening. Storage failing is our
// cause, never the bidder's, and the law counts a failure not caused by the bidder as 撤回
// at best; so the hall arranges that our outage decides nothing:
//
//   - The decrypt window opens only once every header of the round is cached in the
//     database (cacheHeaders): during the window a bidder fetches its headers and hands in
//     its keys without touching storage, so no bidder is refused for our outage.
//   - A key handed in on time stays queued while storage fails its verification, and is
//     tried again with backoff (unlock_verify.go), however long that takes.
//   - The window does not end (publish refuses with "hall.storage_unhealthy") while any key
//     of the round waits for storage, or storage does not answer: the record is built once
//     every key handed in on time has been verified, and classifies only what bidders did.
//     The host's board says why (StorageStatus), and so does the refusal.

// errStorageWait refuses to end the window while n keys handed in on time wait for storage.
func errStorageWait(n int) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindUnavailable, "hall.storage_unhealthy",
		"平台暂时无法读取或验证投标文件（对象存储或密钥服务故障）：%d 份投标文件的密钥已按时提交，待恢复、验证完成后才能结束解密并公布开标记录（不计为投标人原因）", n)
}

// errStorageDown refuses a step that needs storage while it does not answer.
func errStorageDown(step string) error {
	return kaiping.Errorf(kaiping.KindUnavailable, "hall.storage_unhealthy",
		"对象存储暂时无法访问：存储恢复后才能%s（不计为投标人原因）", step)
}

// reverifiable says whether an older version left the envelope in error (our failure)
// with its key still held: it is queued again (HallStore.ReverifyErrors), and the window
// waits for it like for any key our storage failed.
func (e HallEnvelope) reverifiable() bool {
	return e.State == EnvError && e.WrappedKey != nil && e.KeyDestroyedAt == nil && e.Outcome == ""
}

// storageHealth is what the hall last learnt of object storage: from asking it
// (CheckStorageWith) or from a verification reading it. The board is built on every batch
// of events; asking storage each time would load it, and when storage hangs, hold the
// board for the ping's timeout: one question at a time, at most every storageAskEvery,
// and meanwhile the last answer.
type storageHealth struct {
	mu     sync.Mutex
	at     time.Time // when err was learnt (real time: this paces questions, judges nothing)
	err    error
	asking bool
}

// storageAskEvery is how old an answer about storage may be.
const storageAskEvery = time.Second

// learnt records what a read of storage found: nil when it answered, the failure when it
// failed us unreachable.
func (s *storageHealth) learnt(err error) {
	s.mu.Lock()
	s.at, s.err = time.Now(), err
	s.mu.Unlock()
}

// storageErr is whether storage answers, as last learnt, or asked now when that is older
// than storageAskEvery and nobody is asking; with no check it is assumed to. For the board.
func (h *Hall) storageErr(ctx context.Context) error {
	if h.ping == nil {
		return nil
	}
	s := &h.health
	s.mu.Lock()
	if s.asking || !s.at.IsZero() && time.Since(s.at) < storageAskEvery {
		err := s.err
		s.mu.Unlock()
		return err
	}
	s.asking = true
	s.mu.Unlock()
	return h.askStorage(ctx)
}

// askStorage asks storage now whether it answers, and remembers the answer: for the steps
// that rest on it (opening the window, publishing), which are rare.
func (h *Hall) askStorage(ctx context.Context) error {
	if h.ping == nil {
		return nil
	}
	err := h.ping(ctx)
	s := &h.health
	s.mu.Lock()
	s.asking, s.at, s.err = false, time.Now(), err
	s.mu.Unlock()
	return err
}

// storageAnswers refuses to publish while storage does not answer: the record is archived
// there.
func (h *Hall) storageAnswers(ctx context.Context) error {
	if err := h.askStorage(ctx); err != nil {
		h.log.Warn("object storage does not answer", "err", err)
		return errStorageDown("公布开标记录")
	}
	return nil
}

// cacheHeaders reads every header of the round not yet cached from storage and keeps it in
// the database, before the window opens: during the window no bidder waits on storage to
// fetch its headers (Envelopes) or hand in a key (Unlock). Storage not answering refuses
// the window, which then has not started: "hall.storage_unhealthy". Headers are read
// headerReaders at a time: a thousand bids must not keep the host waiting long.
func (h *Hall) cacheHeaders(ctx context.Context, t Tender, sec Section, round int) error {
	envs, err := h.store.HallEnvelopes(ctx, sec.ID, "")
	if err != nil {
		return err
	}
	var missing []HallEnvelope
	for _, e := range envs {
		if e.Header == nil && e.State != EnvRetained && t.Plan.OpensIn(round, e.Kind) {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// One quick question first: a storage server that is down would otherwise keep the host
	// waiting through the client's retries.
	if h.askStorage(ctx) != nil {
		return errStorageDown("开启解密")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(missing))
	slots := make(chan struct{}, headerReaders)
	var wg sync.WaitGroup
	for i, e := range missing {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if errs[i] = h.cacheHeader(ctx, e); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if kaiping.IsKind(err, kaiping.KindUnavailable) {
			return errStorageDown("开启解密")
		}
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return ctx.Err()
}

// headerReaders is how many headers cacheHeaders reads at once.
const headerReaders = 8

// cacheHeader reads one envelope's header from storage and keeps it in the database.
func (h *Hall) cacheHeader(ctx context.Context, e HallEnvelope) error {
	hdr, err := h.fetchHeader(ctx, e)
	if err != nil {
		return err
	}
	return h.store.CacheHeader(ctx, e.ID, hdr.Bytes())
}

// fetchHeader reads an envelope's header from storage.
func (h *Hall) fetchHeader(ctx context.Context, e HallEnvelope) (*seal.Header, error) {
	r, err := h.open(ctx, e.ObjectKey, e.ObjectVer)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Accepted envelopes had their header checked at submission: a failure here is ours.
	hdr, _, err := seal.ParseHeader(r)
	if err != nil {
		return nil, kaiping.Internal("hall.header "+string(e.ID), err)
	}
	return hdr, nil
}

// StorageStatus is object storage as the host's board shows it while the hall checks in
// and decrypts: whether it answers, how many keys handed in on time wait for it, and, when
// something waits, why the window does not open or end, in Chinese.
type StorageStatus struct {
	Healthy bool   `json:"healthy"`
	Waiting int    `json:"waiting"`
	Notice  string `json:"notice,omitempty"`
}

// storageStatus is the board's storage line: waiting keys of the round counted from envs,
// storage asked only while it matters (checking in, decrypting).
func (h *Hall) storageStatus(ctx context.Context, t Tender, st HallStatus, envs []HallEnvelope) StorageStatus {
	s := StorageStatus{Healthy: true}
	for _, e := range envs {
		if t.Plan.OpensIn(st.Round, e.Kind) && (e.StorageWait() || e.reverifiable()) {
			s.Waiting++
		}
	}
	if (st.State == HallCheckingIn || st.State == HallDecrypting) && h.storageErr(ctx) != nil {
		s.Healthy = false
	}
	switch {
	case s.Waiting > 0:
		s.Notice = errStorageWait(s.Waiting).Message
	case !s.Healthy:
		s.Notice = "对象存储暂时无法访问：存储恢复前不能开启解密或公布开标记录，解密窗口结束后开标记录暂缓公布（不计为投标人原因）"
	}
	return s
}
