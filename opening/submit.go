package opening

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/seal"
)

// SubmitConfig tunes submission.
type SubmitConfig struct {
	PartSize      int64         // bytes per part (S3 needs at least 5 MiB but for the last)
	PresignExpiry time.Duration // how long a part URL stays valid
	// Retention is how long accepted envelopes stay under COMPLIANCE lock after the deadline.
	RetentionYears int
	// MaxOpenUploads is how many uploads one bidder may have open (started, neither
	// completed nor abandoned) in one section: each holds parts in the bucket, so without
	// a bound a bidder could fill it. A tool that crashed resumes its upload instead.
	MaxOpenUploads int
}

// DefaultSubmitConfig is 16 MiB parts, one-hour URLs, 15 years of retention and 6 open
// uploads per bidder and section (two per envelope kind).
var DefaultSubmitConfig = SubmitConfig{PartSize: 16 << 20, PresignExpiry: time.Hour, RetentionYears: 15, MaxOpenUploads: 6}

// Submission takes sealed envelopes from bidders.
type Submission struct {
	store   Store
	objects Objects
	clock   kaiping.Clock
	log     *slog.Logger
	cfg     SubmitConfig
	// stamps time-stamps receipts (StampWith); nil: no TSA configured.
	stamps *TimeStamps
}

// NewSubmission returns the submission service.
func NewSubmission(store Store, objects Objects, clock kaiping.Clock, log *slog.Logger, cfg SubmitConfig) *Submission {
	return &Submission{store: store, objects: objects, clock: clock, log: log, cfg: cfg}
}

// StampWith has every receipt time-stamped by ts.
func (s *Submission) StampWith(ts *TimeStamps) { s.stamps = ts }

// stamped adds the time-stamp to a receipt just given: a step after the transaction, so
// a TSA that is away never costs a bid.
func (s *Submission) stamped(ctx context.Context) func(Receipt, error) (Receipt, error) {
	return func(rc Receipt, err error) (Receipt, error) {
		if err == nil && s.stamps != nil {
			rc.TimeStamp = s.stamps.Receipt(ctx, rc)
		}
		return rc, err
	}
}

// UploadTicket is the answer to a started or resumed upload: where to PUT each missing part.
type UploadTicket struct {
	Upload   Upload         `json:"upload"`
	Done     []Part         `json:"done"`      // parts already stored (resume)
	PartURLs map[int]string `json:"part_urls"` // part number → presigned PUT URL, for the missing parts
	Expires  time.Time      `json:"expires_at"`
}

// StartUpload checks that the bidder may submit this envelope now and opens an upload.
func (s *Submission) StartUpload(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string, req StartUploadRequest) (UploadTicket, error) {
	t, sec, err := s.openTender(ctx, a, tenderID, sectionRef)
	if err != nil {
		return UploadTicket{}, err
	}
	if err := req.validate(t); err != nil {
		return UploadTicket{}, err
	}
	// Refused here already, before object storage is asked for anything; CreateUpload
	// checks again, atomically.
	if open, err := s.store.OpenUploads(ctx, sec.ID, a.Principal); err != nil {
		return UploadTicket{}, err
	} else if len(open) >= s.cfg.MaxOpenUploads {
		return UploadTicket{}, kaiping.Errorf(kaiping.KindConflict, "upload.too_many_open",
			"本标段已有 %d 个未完成的上传，请先续传完成或放弃其中的上传", len(open))
	}
	u := Upload{
		ID: kaiping.NewID(), Tender: t.ID, Section: sec.ID, Bidder: a.Principal, Kind: req.Kind,
		DeclaredSize: req.Size, DeclaredSHA256: req.SHA256, DeclaredSM3: req.SM3, PartSize: s.cfg.PartSize, State: UploadOpen, CreatedAt: a.At,
	}
	u.ObjectKey = sectionPrefix(t.ID, sec.ID) + string(a.Principal) + "/" + req.Kind + "/" + string(u.ID) + ".kpseal"
	if u.StorageUpload, err = s.objects.InitiateMultipart(ctx, u.ObjectKey); err != nil {
		return UploadTicket{}, err
	}
	if err := s.store.CreateUpload(ctx, a, u, s.cfg.MaxOpenUploads); err != nil {
		_ = s.objects.AbortMultipart(ctx, u.ObjectKey, u.StorageUpload)
		return UploadTicket{}, err
	}
	return s.ticket(ctx, u, nil)
}

// openTender checks the tender, section, registration and deadline for bidder a.
func (s *Submission) openTender(ctx context.Context, a kaiping.Actor, tenderID kaiping.ID, sectionRef string) (Tender, Section, error) {
	t, err := s.store.Tender(ctx, tenderID)
	if err != nil {
		return Tender{}, Section{}, err
	}
	sec, err := t.Section(sectionRef)
	if err != nil {
		return Tender{}, Section{}, err
	}
	if err := kaiping.Synchronised(s.clock); err != nil {
		return Tender{}, Section{}, err
	}
	if !a.At.Before(t.Deadline) {
		return Tender{}, Section{}, deadlinePassed()
	}
	if _, err := s.store.Registration(ctx, sec.ID, a.Principal); err != nil {
		if kaiping.IsKind(err, kaiping.KindNotFound) {
			return Tender{}, Section{}, kaiping.E(kaiping.KindForbidden, "bid.not_registered", "未报名该标段，不能投标")
		}
		return Tender{}, Section{}, err
	}
	return t, sec, nil
}

func deadlinePassed() error {
	return kaiping.E(kaiping.KindTooLate, "bid.deadline_passed", "投标截止时间已过，投标文件被拒收")
}

func (s *Submission) ticket(ctx context.Context, u Upload, done []Part) (UploadTicket, error) {
	have := map[int]bool{}
	for _, p := range done {
		have[p.Number] = true
	}
	tk := UploadTicket{Upload: u, Done: done, PartURLs: map[int]string{}, Expires: s.clock.Now().Add(s.cfg.PresignExpiry)}
	if tk.Done == nil {
		tk.Done = []Part{}
	}
	for n := 1; n <= u.Parts(); n++ {
		if have[n] {
			continue
		}
		url, err := s.objects.PresignPart(ctx, u.ObjectKey, u.StorageUpload, n, u.PartLength(n), s.cfg.PresignExpiry)
		if err != nil {
			return UploadTicket{}, err
		}
		tk.PartURLs[n] = url.String()
	}
	return tk, nil
}

// ownUpload returns upload id if it belongs to bidder; anyone else's is not found.
func (s *Submission) ownUpload(ctx context.Context, id, bidder kaiping.ID) (Upload, error) {
	u, err := s.store.Upload(ctx, id)
	if err == nil && u.Bidder != bidder {
		err = kaiping.E(kaiping.KindNotFound, "upload.not_found", "上传任务不存在")
	}
	return u, err
}

// ResumeUpload answers which parts are stored and fresh URLs for the rest, so a tool that
// crashed picks up where it stopped.
func (s *Submission) ResumeUpload(ctx context.Context, a kaiping.Actor, id kaiping.ID) (UploadTicket, error) {
	u, err := s.ownUpload(ctx, id, a.Principal)
	if err != nil {
		return UploadTicket{}, err
	}
	switch u.State {
	case UploadCompleting, UploadCompleted:
		// Every part was sent and the completion arrived (the answer was lost): nothing is
		// missing, and completing again finishes it or answers its receipt.
		done := u.CompletingParts
		if done == nil {
			done = []Part{}
		}
		return UploadTicket{Upload: u, Done: done, PartURLs: map[int]string{}, Expires: s.clock.Now()}, nil
	case UploadOpen:
	default:
		return UploadTicket{}, kaiping.Errorf(kaiping.KindConflict, "upload.closed", "该上传任务已结束（%s）", u.State)
	}
	done, err := s.objects.ListParts(ctx, u.ObjectKey, u.StorageUpload)
	if err != nil {
		return UploadTicket{}, err
	}
	return s.ticket(ctx, u, done)
}

// AbandonUpload aborts one of the bidder's open uploads and frees its parts: the way out for
// a bidder at MaxOpenUploads whose tool lost an upload it cannot resume.
func (s *Submission) AbandonUpload(ctx context.Context, a kaiping.Actor, id kaiping.ID) error {
	u, err := s.ownUpload(ctx, id, a.Principal)
	if err != nil {
		return err
	}
	if u.State != UploadOpen {
		return kaiping.Errorf(kaiping.KindConflict, "upload.closed", "该上传任务已结束（%s）", u.State)
	}
	if err := s.objects.AbortMultipart(ctx, u.ObjectKey, u.StorageUpload); err != nil {
		return err
	}
	_, err = s.store.EndUpload(ctx, a, u.ID, "abandoned")
	return err
}

// CompleteUpload finishes an upload. The deadline is judged at the instant the completion
// request arrived (a.At), however early the upload started and however long the checks
// take: that instant is recorded with the parts named (state completing) before storage is
// asked to assemble them, and the bid set is not sealed while an upload is completing.
// The stored file is then checked, in the one read that hashes it (size, SHA-256, envelope
// header: this tender, section, bidder and kind, sealed with the tender's suite, to the
// bidder's registered certificate and, where the tender has a rescue plan, to the rescue
// key; then every payload chunk must look like ciphertext, seal.Screen). Anything refused
// is deleted from storage before it is ever locked; anything accepted is locked under
// COMPLIANCE retention, recorded with its ledger entry in one transaction, and receipted.
//
// It is idempotent: a retry of a completing upload (the server died before answering)
// finishes it from what was recorded, after the deadline too, and a retry of a completed
// one answers its receipt again.
func (s *Submission) CompleteUpload(ctx context.Context, a kaiping.Actor, id kaiping.ID, parts []Part) (Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	u, err := s.ownUpload(ctx, id, a.Principal)
	if err != nil {
		return Receipt{}, err
	}
	switch u.State {
	case UploadCompleted:
		return s.stamped(ctx)(s.store.UploadReceipt(ctx, u.ID))
	case UploadOpen, UploadCompleting:
	default:
		return Receipt{}, kaiping.Errorf(kaiping.KindConflict, "upload.closed", "该上传任务已结束（%s）", u.State)
	}
	t, err := s.store.Tender(ctx, u.Tender)
	if err != nil {
		return Receipt{}, err
	}
	if u.State == UploadOpen {
		// Refused before anything is touched: the upload stays open, and completing it
		// again once the clock is back is judged then.
		if err := kaiping.Synchronised(s.clock); err != nil {
			return Receipt{}, err
		}
		if !a.At.Before(t.Deadline) {
			s.abort(ctx, a, u, "late")
			return Receipt{}, deadlinePassed()
		}
		if len(parts) != u.Parts() {
			return Receipt{}, invalid("bid.parts", "应有 %d 个分片，收到 %d 个", u.Parts(), len(parts))
		}
		begun, err := s.store.BeginCompletion(ctx, a, u.ID, parts)
		if err != nil {
			if kaiping.IsKind(err, kaiping.KindTooLate) {
				// Sealed before this request could be recorded (SealSettle was not enough):
				// it is refused like any late one, and its upload ends.
				s.log.Error("completion arrived before the deadline but was recorded after the seal",
					"upload_id", id, "tender_id", t.ID, "arrived_at", a.At)
				s.abort(ctx, a, u, "late")
			}
			return Receipt{}, err
		}
		u = begun
	}
	return s.finish(ctx, a, t, u)
}

// finish completes a completing upload of tender t from what BeginCompletion recorded: the
// live request, a retry and the reconciler all come here, so that whoever gets there first
// reaches the same verdict. by is who acts now (refusals are ledgered as theirs); the
// envelope is accepted as the bidder's, at the instant its completion request arrived.
func (s *Submission) finish(ctx context.Context, by kaiping.Actor, t Tender, u Upload) (Receipt, error) {
	version := u.ObjectVersion
	if version == "" {
		v, err := s.objects.CompleteMultipart(ctx, u.ObjectKey, u.StorageUpload, u.CompletingParts)
		switch {
		case kaiping.IsKind(err, kaiping.KindInvalid):
			// Parts missing or not as uploaded: the bidder's tool named what storage does
			// not hold. Nothing was assembled: the upload is open again, for the tool to
			// resume (a completion after the deadline is late, as any other).
			if rerr := s.store.ReopenUpload(ctx, u.ID); rerr != nil {
				return Receipt{}, rerr
			}
			return Receipt{}, invalid("bid.parts", "分片不完整或与已上传的不符，请续传后重新完成")
		case kaiping.IsKind(err, kaiping.KindNotFound):
			// Neither the upload nor an object made from it is in storage (expired by a
			// bucket rule, aborted by hand): there is nothing to accept.
			s.abort(ctx, by, u, "bid.parts_lost")
			return Receipt{}, kaiping.E(kaiping.KindConflict, "bid.parts_lost", "存储中已找不到该上传的分片，上传已作废，请重新递交")
		case err != nil:
			return Receipt{}, err
		}
		version = v
		if err := s.store.NoteObjectVersion(ctx, u.ID, version); err != nil {
			return Receipt{}, err
		}
	}
	refuse := func(err error) (Receipt, error) {
		// Ended first, discarded after: whoever else is finishing this upload stops at the
		// row, and an object left by a crash in between is found by the reconciler.
		if _, eerr := s.store.EndUpload(ctx, by, u.ID, kaiping.CodeOf(err)); eerr != nil {
			s.log.Error("end refused upload", "upload_id", u.ID, "err", eerr)
			return Receipt{}, err
		}
		if derr := s.objects.Discard(ctx, u.ObjectKey, version); derr != nil {
			s.log.Error("discard refused envelope", "upload_id", u.ID, "err", derr)
		}
		return Receipt{}, err
	}
	screen := seal.NewScreen()
	stored, err := s.objects.ReadBack(ctx, u.ObjectKey, version, u.DeclaredSM3 != "", screen)
	if err != nil {
		return Receipt{}, err
	}
	switch {
	case stored.Size != u.DeclaredSize:
		return refuse(kaiping.Errorf(kaiping.KindInvalid, "bid.size_mismatch", "存储的文件大小 %d 与声明的 %d 不符", stored.Size, u.DeclaredSize))
	case stored.SHA256 != u.DeclaredSHA256:
		return refuse(kaiping.E(kaiping.KindInvalid, "bid.digest_mismatch", "存储的文件摘要与声明的 SHA-256 不符，文件在传输中损坏或被替换"))
	case stored.SM3 != u.DeclaredSM3:
		return refuse(kaiping.E(kaiping.KindInvalid, "bid.sm3_mismatch", "存储的文件摘要与声明的 SM3 不符，文件在传输中损坏或被替换"))
	}
	if err := s.checkHeader(ctx, t, u, screen); err != nil {
		return refuse(err)
	}
	if err := screen.Payload(); err != nil {
		// Plaintext behind a genuine header: a tool that skipped the bidder's own check.
		// The chunk is named, never quoted.
		var ce *seal.ChunkError
		errors.As(err, &ce)
		return refuse(&kaiping.Error{Kind: kaiping.KindInvalid, Code: "bid.not_ciphertext", Err: err, Message: fmt.Sprintf(
			"投标文件第 %d 个数据块（偏移 %d 字节）不是密文：文件头虽为密封格式，内容却未加密。已拒收并删除，请用投标工具重新加密后递交",
			ce.Index+1, ce.Offset)})
	}
	// Lock first: an envelope locked but not recorded (the transaction below failed) is
	// finished by a retry or the reconciler; one recorded but not locked would not be safe.
	if err := s.objects.Lock(ctx, u.ObjectKey, version, t.Deadline.AddDate(s.cfg.RetentionYears, 0, 0)); err != nil {
		return Receipt{}, err
	}
	arrived := arrival(u)
	e := Envelope{
		ID: kaiping.NewID(), Tender: u.Tender, Section: u.Section, Bidder: u.Bidder, Kind: u.Kind,
		ObjectKey: u.ObjectKey, ObjectVer: version, Size: stored.Size, SHA256: stored.SHA256, SM3: stored.SM3,
		SubmittedAt: arrived.At, State: EnvelopeCurrent,
	}
	rc, err := s.store.AcceptEnvelope(ctx, arrived, u, e)
	if kaiping.CodeOf(err) == "upload.closed" {
		// Someone else finishing it got there first: theirs is the receipt.
		return s.stamped(ctx)(s.store.UploadReceipt(ctx, u.ID))
	}
	return s.stamped(ctx)(rc, err)
}

// arrival is the actor of a completing upload's completion request: the bidder, from where
// and when it arrived.
func arrival(u Upload) kaiping.Actor {
	addr, _ := netip.ParseAddr(u.CompletingAddress)
	return kaiping.ActorAt(u.Bidder, addr, *u.CompletingAt)
}

func (s *Submission) checkHeader(ctx context.Context, t Tender, u Upload, screen *seal.Screen) error {
	h, err := screen.Header()
	if err != nil {
		return kaiping.E(kaiping.KindInvalid, "bid.not_sealed", "文件不是按要求加密的投标文件（"+kaiping.CodeOf(err)+"），已拒收")
	}
	b := h.Binding
	if b.Tender != u.Tender || b.Section != u.Section || b.Bidder != u.Bidder || string(b.Kind) != u.Kind {
		return kaiping.E(kaiping.KindInvalid, "bid.binding_mismatch", "投标文件是为其他项目、标段、投标人或信封加密的，已拒收")
	}
	if string(h.Suite) != t.Suite {
		return kaiping.Errorf(kaiping.KindInvalid, "bid.suite", "本项目要求使用 %s 加密，文件使用的是 %s", t.Suite, h.Suite)
	}
	reg, err := s.store.Registration(ctx, u.Section, u.Bidder)
	if err != nil {
		return err
	}
	if _, ok := h.Stanza(reg.Certificate); !ok {
		return kaiping.E(kaiping.KindInvalid, "bid.no_bidder_recipient", "投标文件未对报名时登记的证书加密，开标时将无法解密，已拒收")
	}
	if t.Rescue.Enabled {
		if st, ok := h.Stanza(t.Rescue.KeyID); !ok || st.Type != seal.TypeRescueP256 {
			return kaiping.E(kaiping.KindInvalid, "bid.no_rescue_recipient", "本项目设有解密补救方案，投标文件须同时对本项目的补救公钥加密")
		}
	}
	return nil
}

func (s *Submission) abort(ctx context.Context, a kaiping.Actor, u Upload, reason string) {
	if err := s.objects.AbortMultipart(ctx, u.ObjectKey, u.StorageUpload); err != nil {
		s.log.Error("abort upload", "upload_id", u.ID, "err", err)
	}
	if _, err := s.store.EndUpload(ctx, a, u.ID, reason); err != nil {
		s.log.Error("end upload", "upload_id", u.ID, "err", err)
	}
}
