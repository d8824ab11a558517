package blob

import (
	"context"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
)

// RetentionMode is an S3 Object Lock retention mode.
type RetentionMode string

// The retention modes S3 knows. Kaiping writes only Compliance: Governance lets anyone holding
// the bypass permission delete a version early, which is exactly what a bid archive must not
// allow. Governance appears only when reporting an object someone else locked.
const (
	Compliance RetentionMode = "COMPLIANCE"
	Governance RetentionMode = "GOVERNANCE"
)

// Retention is the Object Lock retention of one object version: until RetainUntil, the version
// cannot be deleted or overwritten, and in COMPLIANCE mode the date can only be moved later.
// The zero Retention means none.
type Retention struct {
	Mode        RetentionMode // COMPLIANCE; empty means COMPLIANCE when RetainUntil is set
	RetainUntil time.Time
}

// IsZero reports whether r is no retention at all.
func (r Retention) IsZero() bool { return r.RetainUntil.IsZero() }

// Period is a retention period in calendar units, applied with time.AddDate so that
// "15 years" ends on the same calendar day 15 years on, leap days included.
type Period struct {
	Years, Months, Days int
}

// DefaultArchiveRetention is how long procurement files and the recordings of openings and
// evaluations are kept: at least 15 years (《电子招标投标办法》; Guangdong keeps recordings 15 years).
var DefaultArchiveRetention = Period{Years: 15}

// IsZero reports whether p is no period at all.
func (p Period) IsZero() bool { return p == Period{} }

// From returns the COMPLIANCE retention that lasts p from now. The caller passes now from the
// injected clock, so tests can fix it. The zero Period gives the zero Retention.
func (p Period) From(now time.Time) Retention {
	if p.IsZero() {
		return Retention{}
	}
	return Retention{Mode: Compliance, RetainUntil: now.AddDate(p.Years, p.Months, p.Days)}
}

// normalize checks r for writing and returns it with the mode filled in and the date rounded
// up to a whole second: S3 carries retain-until dates in seconds, and rounding down would
// keep an object a little less long than asked.
func (r Retention) normalize(op string) (Retention, error) {
	invalid := func(format string, args ...any) error {
		e := kaiping.Errorf(kaiping.KindInvalid, CodeRetention, format, args...)
		e.Op = op
		return e
	}
	if r.IsZero() {
		if r.Mode != "" {
			return r, invalid("保留模式 %s 缺少保留期限", r.Mode)
		}
		return r, nil
	}
	if r.Mode == "" {
		r.Mode = Compliance
	}
	if r.Mode != Compliance {
		return r, invalid("只支持合规保留模式 (COMPLIANCE)，不支持 %s", r.Mode)
	}
	until := r.RetainUntil.UTC()
	if t := until.Truncate(time.Second); t.Before(until) {
		until = t.Add(time.Second)
	}
	r.RetainUntil = until
	return r, nil
}

// SetRetention sets the retention of a version (the current one when versionID is empty).
// S3 lets a COMPLIANCE retention only be extended: an attempt to shorten it is refused by the
// server with KindConflict, code "blob.locked". A zero r (removing the retention) is refused
// here, since Kaiping never has a reason to ask; the server would refuse it too.
func (s *Store) SetRetention(ctx context.Context, bucket, key, versionID string, r Retention) error {
	const op = "blob.SetRetention"
	if r.IsZero() {
		return &kaiping.Error{Kind: kaiping.KindInvalid, Code: CodeRetention,
			Message: "不能移除对象的保留期限", Op: op}
	}
	r, err := r.normalize(op)
	if err != nil {
		return err
	}
	mode := minio.RetentionMode(r.Mode)
	err = s.core.PutObjectRetention(ctx, bucket, key, minio.PutObjectRetentionOptions{
		Mode:            &mode,
		RetainUntilDate: &r.RetainUntil,
		VersionID:       versionID,
	})
	if err != nil {
		return translate(op+" "+bucket+"/"+key, err)
	}
	return nil
}
