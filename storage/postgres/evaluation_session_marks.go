package postgres

import (
	"context"
	"encoding/hex"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
)

// SessionMarks implements evaluation.ReviewStore: one query for the whole session, joined on
// the submissions so that a draft never leaves the database. A session holds few members,
// bidders and items and many marks (483,645 at the largest scale seen), so each UUID is
// scanned as 16 bytes and each ID and item code is made once and shared by all its marks:
// the marks cost no allocation of their own.
func (s *EvaluationStore) SessionMarks(ctx context.Context, session kaiping.ID) (map[kaiping.ID][]evaluation.MemberMark, error) {
	if !session.Valid() {
		return nil, notFoundSession()
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT m.section_id, m.member_id, m.bidder_id, m.item, m.value FROM eval_marks m
		JOIN eval_submissions s USING (session_id, section_id, stage, member_id)
		WHERE m.session_id = $1`, session)
	if err != nil {
		return nil, translate("pg.SessionMarks", err)
	}
	defer rows.Close()
	ids := map[[16]byte]kaiping.ID{}
	items := map[string]string{}
	// The rows come in the table's order, where neighbours mostly share their section,
	// member and bidder: the last of each is kept at hand.
	type last struct {
		uuid pgtype.UUID
		id   kaiping.ID
	}
	id := func(u pgtype.UUID, l *last) kaiping.ID {
		if l.id != "" && l.uuid.Bytes == u.Bytes {
			return l.id
		}
		v, ok := ids[u.Bytes]
		if !ok {
			v = idOf(u.Bytes)
			ids[u.Bytes] = v
		}
		l.uuid, l.id = u, v
		return v
	}
	sections := map[kaiping.ID]*[]evaluation.MemberMark{}
	var lastSection, lastMember, lastBidder last
	var marks *[]evaluation.MemberMark
	var section, member, bidder pgtype.UUID
	var value int64
	for rows.Next() {
		// nil skips the item, read below from the row's own bytes without a copy.
		if err := rows.Scan(&section, &member, &bidder, nil, &value); err != nil {
			return nil, translate("pg.SessionMarks", err)
		}
		raw := rows.RawValues()[3]
		item, ok := items[string(raw)]
		if !ok {
			item = string(raw)
			items[item] = item
		}
		if marks == nil || lastSection.uuid.Bytes != section.Bytes {
			sec := id(section, &lastSection)
			if marks = sections[sec]; marks == nil {
				ms := make([]evaluation.MemberMark, 0, 1024)
				marks = &ms
				sections[sec] = marks
			}
		}
		*marks = append(*marks, evaluation.MemberMark{Member: id(member, &lastMember), Mark: evaluation.Mark{Bidder: id(bidder, &lastBidder), Item: item, Value: value}})
	}
	if err := rows.Err(); err != nil {
		return nil, translate("pg.SessionMarks", err)
	}
	out := make(map[kaiping.ID][]evaluation.MemberMark, len(sections))
	for sec, ms := range sections {
		out[sec] = *ms
	}
	return out, nil
}

// idOf is a UUID's 16 bytes in kaiping.ID's canonical text form.
func idOf(b [16]byte) kaiping.ID {
	var t [36]byte
	hex.Encode(t[0:8], b[0:4])
	t[8] = '-'
	hex.Encode(t[9:13], b[4:6])
	t[13] = '-'
	hex.Encode(t[14:18], b[6:8])
	t[18] = '-'
	hex.Encode(t[19:23], b[8:10])
	t[23] = '-'
	hex.Encode(t[24:36], b[10:16])
	return kaiping.ID(t[:])
}
