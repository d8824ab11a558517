package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

func notFoundSession() error {
	return kaiping.E(kaiping.KindNotFound, "session.not_found", "评标会议不存在")
}

// CreateSession implements evaluation.SessionStore.
func (s *EvaluationStore) CreateSession(ctx context.Context, a kaiping.Actor, sess evaluation.Session) error {
	return s.db.InTx(ctx, "pg.CreateSession", func(tx pgx.Tx) error {
		body, err := json.Marshal(sess)
		if err != nil {
			return kaiping.Internal("pg.CreateSession", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO eval_sessions (id, tender_id, state, version, body, created_at, updated_at)
			VALUES ($1, $2, $3, 1, $4, $5, $5)`, sess.ID, sess.Tender, sess.State, body, a.At); err != nil {
			return err
		}
		for _, g := range sess.Groups {
			_, err := tx.Exec(ctx, `INSERT INTO eval_session_draws (draw_id, session_id) VALUES ($1, $2)`, g.Draw, sess.ID)
			if err = constraintError(err, map[string]error{"eval_session_draws_pkey": kaiping.E(kaiping.KindConflict,
				"session.draw_taken", "该抽取的评标委员会已用于另一场评标会议；评标会议作废后须重新抽取组建")}); err != nil {
				return err
			}
		}
		sess.Version = 0
		return s.sessionChanges(ctx, tx, a, &sess, []evaluation.SessionChange{{Type: evaluation.ActionSessionCreate,
			Payload: sessionCreated(sess)}})
	})
}

// sessionCreated is the session.create entry: the groups, and the members by ID and seat.
// Names stay out of the ledger: the committee is confidential until the award result.
func sessionCreated(sess evaluation.Session) map[string]any {
	type member struct {
		ID    kaiping.ID            `json:"id"`
		Kind  evaluation.MemberKind `json:"kind"`
		Group string                `json:"group"`
		Seat  kaiping.ID            `json:"seat_id"`
	}
	ms := make([]member, len(sess.Members))
	for i, m := range sess.Members {
		ms[i] = member{ID: m.ID, Kind: m.Kind, Group: m.Group, Seat: m.Seat}
	}
	type group struct {
		ID       string       `json:"id"`
		Draw     kaiping.ID   `json:"draw_id"`
		Sections []kaiping.ID `json:"sections"`
		Size     int          `json:"size"`
	}
	gs := make([]group, len(sess.Groups))
	for i, g := range sess.Groups {
		gs[i] = group{ID: g.ID, Draw: g.Draw, Size: g.Size}
		for _, sec := range g.Sections {
			gs[i].Sections = append(gs[i].Sections, sec.ID)
		}
	}
	return map[string]any{"groups": gs, "members": ms, "window": sess.Window, "host_venue": sess.HostVenue}
}

// sessionChanges writes one ledger entry and one event per change, bumping the version.
func (s *EvaluationStore) sessionChanges(ctx context.Context, tx pgx.Tx, a kaiping.Actor, sess *evaluation.Session, changes []evaluation.SessionChange) error {
	_, err := s.sessionChangesSeq(ctx, tx, a, sess, changes, "")
	return err
}

// sessionChangesSeq is sessionChanges, returning the ledger sequence number of the last
// change of type typ (0 if none).
func (s *EvaluationStore) sessionChangesSeq(ctx context.Context, tx pgx.Tx, a kaiping.Actor, sess *evaluation.Session, changes []evaluation.SessionChange, typ string) (int64, error) {
	var seq int64
	for _, c := range changes {
		if c.Quiet {
			if _, err := s.ledger.Append(ctx, tx, a, c.Type, string(sess.ID), c.Payload); err != nil {
				return 0, err
			}
			continue
		}
		audience, ok := evaluation.SessionAudiences[c.Type]
		if !ok {
			return 0, kaiping.Internal("pg.sessionChanges", fmt.Errorf("session event %q has no audience", c.Type))
		}
		sess.Version++
		detail := maps.Clone(c.Payload)
		if detail == nil {
			detail = map[string]any{}
		}
		detail["session"], detail["tender"], detail["version"] = sess.ID, sess.Tender, sess.Version
		payload, err := json.Marshal(detail)
		if err != nil {
			return 0, kaiping.Internal("pg.sessionChanges", err)
		}
		entry, err := s.ledger.Append(ctx, tx, a, c.Type, string(sess.ID), json.RawMessage(payload))
		if err != nil {
			return 0, err
		}
		if c.Type == typ {
			seq = entry.Seq
		}
		var group any
		if audience == evaluation.AudienceGroup {
			group = c.Group
		}
		if _, err := tx.Exec(ctx, `INSERT INTO eval_session_events (session_id, version, type, audience, member_id, venue_id, group_id, payload, at, ledger_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, sess.ID, sess.Version, c.Type, audience,
			nullIDIf(audience == evaluation.AudienceMember, c.Member), nullIDIf(audience == evaluation.AudienceVenue, c.Venue),
			group, payload, a.At, entry.Seq); err != nil {
			return 0, err
		}
	}
	_, err := tx.Exec(ctx, `UPDATE eval_sessions SET version = $2 WHERE id = $1`, sess.ID, max(sess.Version, 1))
	return seq, err
}

func nullIDIf(cond bool, id kaiping.ID) any {
	if !cond {
		return nil
	}
	return nullID(id)
}

const sessionColumns = `state, version, body`

func scanSession(row pgx.Row) (evaluation.Session, error) {
	var sess evaluation.Session
	var state string
	var version int64
	var body []byte
	if err := row.Scan(&state, &version, &body); err != nil {
		return sess, err
	}
	if err := json.Unmarshal(body, &sess); err != nil {
		return sess, kaiping.Internal("pg.scanSession", err)
	}
	sess.State, sess.Version = evaluation.SessionState(state), version
	return sess, nil
}

// Session implements evaluation.SessionStore.
func (s *EvaluationStore) Session(ctx context.Context, id kaiping.ID) (evaluation.Session, error) {
	if !id.Valid() {
		return evaluation.Session{}, notFoundSession()
	}
	sess, err := scanSession(s.db.Pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM eval_sessions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sess, notFoundSession()
	}
	return sess, translate("pg.Session", err)
}

func (s *EvaluationStore) sessions(ctx context.Context, op, where string, args ...any) ([]evaluation.Session, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+sessionColumns+` FROM eval_sessions WHERE `+where+` ORDER BY created_at DESC, id`, args...)
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.Session, error) { return scanSession(r) })
	if out == nil {
		out = []evaluation.Session{}
	}
	return out, translate(op, err)
}

// Sessions implements evaluation.SessionStore.
func (s *EvaluationStore) Sessions(ctx context.Context, tender kaiping.ID) ([]evaluation.Session, error) {
	if !tender.Valid() {
		return []evaluation.Session{}, nil
	}
	return s.sessions(ctx, "pg.Sessions", `tender_id = $1`, tender)
}

// VenueSessions implements evaluation.SessionStore.
func (s *EvaluationStore) VenueSessions(ctx context.Context, venues []kaiping.ID) ([]evaluation.Session, error) {
	return s.sessions(ctx, "pg.VenueSessions", `state NOT IN ('closed', 'void') AND EXISTS (SELECT 1 FROM unnest($1::uuid[]) v
		WHERE body @> jsonb_build_object('members', jsonb_build_array(jsonb_build_object('venue_id', v))))`, venues)
}

// MemberSessions implements evaluation.SessionStore.
func (s *EvaluationStore) MemberSessions(ctx context.Context, principal kaiping.ID) ([]evaluation.Session, error) {
	if !principal.Valid() {
		return []evaluation.Session{}, nil
	}
	return s.sessions(ctx, "pg.MemberSessions",
		`body @> jsonb_build_object('members', jsonb_build_array(jsonb_build_object('principal_id', $1::uuid)))`, principal)
}

// ChangeSession implements evaluation.SessionStore.
func (s *EvaluationStore) ChangeSession(ctx context.Context, a kaiping.Actor, id kaiping.ID, decide func(*evaluation.Session) ([]evaluation.SessionChange, error)) (evaluation.Session, error) {
	if !id.Valid() {
		return evaluation.Session{}, notFoundSession()
	}
	var out evaluation.Session
	err := s.db.InTx(ctx, "pg.ChangeSession", func(tx pgx.Tx) error {
		sess, err := lockSession(ctx, tx, id)
		if err != nil {
			return err
		}
		changes, err := decide(&sess)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			out = sess
			return nil
		}
		sess.UpdatedAt = a.At
		if err := s.sessionChanges(ctx, tx, a, &sess, changes); err != nil {
			return err
		}
		body, err := json.Marshal(sess)
		if err != nil {
			return kaiping.Internal("pg.ChangeSession", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE eval_sessions SET state = $2, body = $3, updated_at = $4 WHERE id = $1`,
			id, sess.State, body, a.At); err != nil {
			return err
		}
		out = sess
		return nil
	})
	return out, err
}

// SessionEvents implements evaluation.SessionStore.
func (s *EvaluationStore) SessionEvents(ctx context.Context, id kaiping.ID, after int64, r evaluation.SessionReader, limit int) ([]evaluation.SessionEvent, error) {
	if !id.Valid() {
		return nil, notFoundSession()
	}
	venues := r.Venues
	if venues == nil {
		venues = []kaiping.ID{}
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT version, type, audience, coalesce(member_id::text, ''), coalesce(venue_id::text, ''),
		coalesce(group_id, ''), payload, at, ledger_seq FROM eval_session_events
		WHERE session_id = $1 AND version > $2
		  AND ($3 OR audience = 'all' OR (audience = 'committee' AND $4::uuid IS NOT NULL) OR (audience = 'member' AND member_id = $4)
		       OR (audience = 'venue' AND venue_id = ANY($5::uuid[])) OR (audience = 'group' AND group_id = $7))
		ORDER BY version LIMIT $6`, id, after, r.Overseer, nullID(r.Member), venues, limit, r.Group)
	out, err := collectRows(rows, err, func(r pgx.Rows) (evaluation.SessionEvent, error) {
		var e evaluation.SessionEvent
		return e, r.Scan(&e.Version, &e.Type, &e.Audience, &e.Member, &e.Venue, &e.Group, &e.Payload, &e.At, &e.LedgerSeq)
	})
	if out == nil {
		out = []evaluation.SessionEvent{}
	}
	return out, translate("pg.SessionEvents", err)
}

// PrincipalCertificate implements evaluation.SessionStore.
func (s *EvaluationStore) PrincipalCertificate(ctx context.Context, principal kaiping.ID, fingerprint string) ([]byte, error) {
	var der []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT der FROM principal_certificates
		WHERE fingerprint = $1 AND principal_id = $2 AND revoked_at IS NULL`, fingerprint, principal).Scan(&der)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, kaiping.E(kaiping.KindForbidden, "session.certificate", "该证书不是您在本平台登记的有效证书")
	}
	return der, translate("pg.PrincipalCertificate", err)
}

// Principal implements evaluation.SessionStore.
func (s *EvaluationStore) Principal(ctx context.Context, id kaiping.ID) (kaiping.Principal, error) {
	return (&IdentityStore{db: s.db}).Principal(ctx, id)
}

// SetExpertPhoto implements evaluation.ExpertStore.
func (s *EvaluationStore) SetExpertPhoto(ctx context.Context, a kaiping.Actor, id kaiping.ID, data []byte, contentType, digest string) error {
	if !id.Valid() {
		return notFoundExpert()
	}
	return s.db.InTx(ctx, "pg.SetExpertPhoto", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE experts SET photo = $2, photo_type = $3, updated_at = $4 WHERE id = $1`, id, data, contentType, a.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFoundExpert()
		}
		_, err = s.ledger.Append(ctx, tx, a, evaluation.ActionExpertPhoto, string(id), map[string]any{"sha256": digest, "type": contentType, "bytes": len(data)})
		return err
	})
}

// ExpertPhoto implements evaluation.ExpertStore.
func (s *EvaluationStore) ExpertPhoto(ctx context.Context, id kaiping.ID) ([]byte, string, error) {
	var data []byte
	var ct string
	err := s.db.Pool.QueryRow(ctx, `SELECT photo, photo_type FROM experts WHERE id = $1 AND photo IS NOT NULL`, id).Scan(&data, &ct)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", kaiping.E(kaiping.KindNotFound, "expert.no_photo", "专家库中没有该专家的照片")
	}
	return data, ct, translate("pg.ExpertPhoto", err)
}

// lockSession reads the session under its row lock, which every change of the session, its
// reviews, its report or its inquiries takes first.
func lockSession(ctx context.Context, tx pgx.Tx, id kaiping.ID) (evaluation.Session, error) {
	sess, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+` FROM eval_sessions WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sess, notFoundSession()
	}
	return sess, err
}
