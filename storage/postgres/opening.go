package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/rescue"
	"github.com/kaiping/kaiping/storage/ledger"
)

// OpeningStore keeps tenders, registrations and the blacklist.
type OpeningStore struct {
	db     *DB
	ledger *ledger.Ledger
}

var _ opening.Store = (*OpeningStore)(nil)

// NewOpeningStore returns the opening store on db, ledgering through l.
func NewOpeningStore(db *DB, l *ledger.Ledger) *OpeningStore {
	return &OpeningStore{db: db, ledger: l}
}

func nullID(id kaiping.ID) any {
	if id == "" {
		return nil
	}
	return id
}

// CreateTender implements opening.Store.
func (s *OpeningStore) CreateTender(ctx context.Context, a kaiping.Actor, t opening.Tender, setup *rescue.Setup) error {
	fields, _ := json.Marshal(t.SummaryFields)
	policy, _ := json.Marshal(t.Rescue)
	var setupJSON []byte
	if setup != nil {
		var err error
		if setupJSON, err = json.Marshal(setup); err != nil {
			return kaiping.Internal("pg.CreateTender", err)
		}
	}
	return s.db.InTx(ctx, "pg.CreateTender "+string(t.ID), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenders (id, code, title, tenderer, deadline, envelope_plan, suite,
			summary_fields, max_envelope_bytes, min_bids, rescue, rescue_setup, created_by, created_at, checkin_minutes, cosign, silence_consents,
			government_procurement, evaluation_method)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			t.ID, t.Code, t.Title, t.Tenderer, t.Deadline, t.Plan, t.Suite, fields, t.MaxEnvelopeBytes,
			t.MinBids, policy, setupJSON, nullID(t.CreatedBy), t.CreatedAt, t.CheckInMinutes, t.Cosign, t.SilenceConsents,
			t.GovernmentProcurement, t.Method)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return kaiping.Errorf(kaiping.KindConflict, "tender.code_taken", "项目编号 %s 已存在", t.Code)
		}
		if err != nil {
			return err
		}
		for i, sec := range t.Sections {
			if _, err := tx.Exec(ctx, `INSERT INTO tender_sections (id, tender_id, code, name, position) VALUES ($1, $2, $3, $4, $5)`,
				sec.ID, t.ID, sec.Code, sec.Name, i); err != nil {
				return err
			}
		}
		_, err = s.ledger.Append(ctx, tx, a, "tender.create", string(t.ID), t)
		return err
	})
}

const tenderColumns = `id, code, title, tenderer, deadline, envelope_plan, suite, summary_fields,
	max_envelope_bytes, min_bids, rescue, created_by, created_at, checkin_minutes, cosign, silence_consents, government_procurement, evaluation_method`

func scanTender(row pgx.Row) (opening.Tender, error) {
	var t opening.Tender
	var fields, rescue []byte
	var createdBy *string
	err := row.Scan(&t.ID, &t.Code, &t.Title, &t.Tenderer, &t.Deadline, &t.Plan, &t.Suite, &fields,
		&t.MaxEnvelopeBytes, &t.MinBids, &rescue, &createdBy, &t.CreatedAt, &t.CheckInMinutes, &t.Cosign, &t.SilenceConsents, &t.GovernmentProcurement, &t.Method)
	if err != nil {
		return opening.Tender{}, err
	}
	if createdBy != nil {
		t.CreatedBy = kaiping.ID(*createdBy)
	}
	if err := json.Unmarshal(fields, &t.SummaryFields); err != nil {
		return opening.Tender{}, err
	}
	if err := json.Unmarshal(rescue, &t.Rescue); err != nil {
		return opening.Tender{}, err
	}
	return t, nil
}

func notFoundTender() error {
	return kaiping.E(kaiping.KindNotFound, "tender.not_found", "招标项目不存在")
}

// Tender implements opening.Store.
func (s *OpeningStore) Tender(ctx context.Context, id kaiping.ID) (opening.Tender, error) {
	if !id.Valid() {
		return opening.Tender{}, notFoundTender()
	}
	t, err := scanTender(s.db.Pool.QueryRow(ctx, `SELECT `+tenderColumns+` FROM tenders WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return opening.Tender{}, notFoundTender()
	}
	if err != nil {
		return opening.Tender{}, translate("pg.Tender "+string(id), err)
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT id, code, name FROM tender_sections WHERE tender_id = $1 ORDER BY position`, id)
	if err != nil {
		return opening.Tender{}, translate("pg.Tender "+string(id), err)
	}
	defer rows.Close()
	for rows.Next() {
		var sec opening.Section
		if err := rows.Scan(&sec.ID, &sec.Code, &sec.Name); err != nil {
			return opening.Tender{}, translate("pg.Tender", err)
		}
		t.Sections = append(t.Sections, sec)
	}
	return t, translate("pg.Tender", rows.Err())
}

// Tenders implements opening.Store, each tender with its sections in their order: the hall
// list offers one entry per section, so a tender listed without them could not be entered.
func (s *OpeningStore) Tenders(ctx context.Context) ([]opening.Tender, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+tenderColumns+` FROM tenders ORDER BY deadline DESC, id`)
	if err != nil {
		return nil, translate("pg.Tenders", err)
	}
	defer rows.Close()
	ts := []opening.Tender{}
	at := map[kaiping.ID]int{}
	for rows.Next() {
		t, err := scanTender(rows)
		if err != nil {
			return nil, translate("pg.Tenders", err)
		}
		t.Sections = []opening.Section{}
		at[t.ID] = len(ts)
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, translate("pg.Tenders", err)
	}
	rows.Close()
	srows, err := s.db.Pool.Query(ctx, `SELECT tender_id, id, code, name FROM tender_sections ORDER BY tender_id, position`)
	if err != nil {
		return nil, translate("pg.Tenders", err)
	}
	defer srows.Close()
	for srows.Next() {
		var tender kaiping.ID
		var sec opening.Section
		if err := srows.Scan(&tender, &sec.ID, &sec.Code, &sec.Name); err != nil {
			return nil, translate("pg.Tenders", err)
		}
		// A tender created between the two queries is not in ts; the next list shows it.
		if i, ok := at[tender]; ok {
			ts[i].Sections = append(ts[i].Sections, sec)
		}
	}
	return ts, translate("pg.Tenders", srows.Err())
}

// Register implements opening.Store.
func (s *OpeningStore) Register(ctx context.Context, a kaiping.Actor, r opening.Registration) error {
	return s.db.InTx(ctx, "pg.Register", func(tx pgx.Tx) error {
		var reason, source string
		var until time.Time
		err := tx.QueryRow(ctx, `SELECT reason, source, valid_until FROM blacklist
			WHERE bidder_id = $1 AND valid_from <= $2 AND valid_until > $2
			ORDER BY valid_until DESC LIMIT 1`, r.Bidder, r.At).Scan(&reason, &source, &until)
		if err == nil {
			return kaiping.Errorf(kaiping.KindForbidden, "register.blacklisted",
				"该投标人在不良行为/失信名单中，%s 前不得投标。原因：%s", until.Format(time.DateOnly), reason)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var owner string
		err = tx.QueryRow(ctx, `SELECT principal_id FROM principal_certificates WHERE fingerprint = $1`, r.Certificate).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && kaiping.ID(owner) != r.Bidder {
			return kaiping.E(kaiping.KindInvalid, "register.certificate", "该证书未登记在本投标人名下")
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO registrations (tender_id, section_id, bidder_id, certificate, registered_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, r.Tender, r.Section, r.Bidder, r.Certificate, r.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return kaiping.E(kaiping.KindConflict, "register.duplicate", "已报名该标段，无需重复报名")
		}
		_, err = s.ledger.Append(ctx, tx, a, "tender.register", string(r.Section), map[string]any{
			"tender": r.Tender, "bidder": r.Bidder, "certificate": r.Certificate,
		})
		return err
	})
}

// Registrations implements opening.Store.
func (s *OpeningStore) Registrations(ctx context.Context, tender, section kaiping.ID) ([]opening.Registration, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT r.tender_id, r.section_id, r.bidder_id, p.name, r.certificate, r.registered_at
		FROM registrations r JOIN principals p ON p.id = r.bidder_id
		WHERE r.tender_id = $1 AND r.section_id = $2 ORDER BY r.registered_at, r.bidder_id`, tender, section)
	if err != nil {
		return nil, translate("pg.Registrations", err)
	}
	defer rows.Close()
	rs := []opening.Registration{}
	for rows.Next() {
		var r opening.Registration
		if err := rows.Scan(&r.Tender, &r.Section, &r.Bidder, &r.BidderName, &r.Certificate, &r.At); err != nil {
			return nil, translate("pg.Registrations", err)
		}
		rs = append(rs, r)
	}
	return rs, translate("pg.Registrations", rows.Err())
}

// AddBlacklist implements opening.Store.
func (s *OpeningStore) AddBlacklist(ctx context.Context, a kaiping.Actor, b opening.BlacklistEntry) error {
	return s.db.InTx(ctx, "pg.AddBlacklist", func(tx pgx.Tx) error {
		var roles []string
		err := tx.QueryRow(ctx, `SELECT roles FROM principals WHERE id = $1`, b.Bidder).Scan(&roles)
		if errors.Is(err, pgx.ErrNoRows) {
			return kaiping.E(kaiping.KindNotFound, "blacklist.bidder_not_found", "投标人不存在")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO blacklist (id, bidder_id, reason, source, valid_from, valid_until, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, b.ID, b.Bidder, b.Reason, b.Source, b.From, b.Until, nullID(b.CreatedBy), b.CreatedAt)
		if err != nil {
			return err
		}
		_, err = s.ledger.Append(ctx, tx, a, "blacklist.add", string(b.Bidder), b)
		return err
	})
}

// Blacklist implements opening.Store.
func (s *OpeningStore) Blacklist(ctx context.Context) ([]opening.BlacklistEntry, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, bidder_id, reason, source, valid_from, valid_until, created_by, created_at
		FROM blacklist ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, translate("pg.Blacklist", err)
	}
	defer rows.Close()
	bs := []opening.BlacklistEntry{}
	for rows.Next() {
		var b opening.BlacklistEntry
		var by *string
		if err := rows.Scan(&b.ID, &b.Bidder, &b.Reason, &b.Source, &b.From, &b.Until, &by, &b.CreatedAt); err != nil {
			return nil, translate("pg.Blacklist", err)
		}
		if by != nil {
			b.CreatedBy = kaiping.ID(*by)
		}
		bs = append(bs, b)
	}
	return bs, translate("pg.Blacklist", rows.Err())
}
