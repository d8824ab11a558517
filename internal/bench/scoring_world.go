package bench

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/evaluation/scoring"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
)

// scoringPlan is the size of the scoring scenario's session.
type scoringPlan struct {
	bidders  int // spread round-robin over every section
	groups   int // committee groups (评标小组)
	sections int // sections per group
	members  int // members per group
	items    int // scored criteria
}

// scoringCeiling is every section's 最高投标限价 in fen (1,000,000 yuan).
const scoringCeiling = 100_000_000

// scoringMethod is the scenario's 综合评估法: items criteria in two groups, the technical
// ones counted whole and the commercial ones at half weight, every third item objective;
// the average-base price score (30 points) with a fixed 2 % 下浮; the plain mean of the
// members (no member or score left out), which is what the SQL anchor computes.
func scoringMethod(items int) scoring.Method {
	var its []scoring.Item
	for i := range items {
		its = append(its, scoring.Item{Code: fmt.Sprintf("i%02d", i), Name: fmt.Sprintf("评分项%d", i+1),
			Max: 500 + int64(i%3)*100, Objective: i%3 == 0})
	}
	tech := (2*items + 2) / 3
	return scoring.Method{Kind: scoring.KindComprehensive,
		Criteria: []scoring.Group{{Code: "tech", Name: "技术部分", Weight: 100, Items: its[:tech]}, {Code: "biz", Name: "商务部分", Weight: 50, Items: its[tech:]}},
		Price:    &scoring.PriceRule{Rule: scoring.PriceAverageBase, Max: 3000, Downward: 200}}.Normalized()
}

// scoringWorld is a session in review whose every section's marks are stored and submitted,
// in a PostgreSQL of its own, with the review service reading it.
type scoringWorld struct {
	plan    scoringPlan
	method  scoring.Method
	pg      *devenv.Postgres
	db      *postgres.DB
	store   *postgres.EvaluationStore
	svc     *evaluation.Service
	session kaiping.ID
	marks   int   // rows seeded into eval_marks
	bytes   int64 // eval_marks on disk, with its index
}

// newScoringWorld starts PostgreSQL under dir and seeds the session.
func newScoringWorld(ctx context.Context, dir string, plan scoringPlan) (w *scoringWorld, err error) {
	w = &scoringWorld{plan: plan, method: scoringMethod(plan.items)}
	if err := w.method.Validate(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if w.pg, err = devenv.StartPostgres(ctx, filepath.Join(dir, "pg")); err != nil {
		return w, err
	}
	if err := w.pg.CreateDatabase(ctx, "kaiping"); err != nil {
		return w, err
	}
	if _, err := postgres.Migrate(ctx, w.pg.URL("kaiping")); err != nil {
		return w, err
	}
	if w.db, err = postgres.Open(ctx, w.pg.URL("kaiping"), 4); err != nil {
		return w, err
	}
	// The computation only reads; building the report (the report-pdf scenario) ledgers.
	pem, err := ledger.GenerateKeyPEM(ledger.AlgEd25519)
	if err != nil {
		return w, err
	}
	signer, err := ledger.ParseSigner(pem)
	if err != nil {
		return w, err
	}
	w.store = postgres.NewEvaluationStore(w.db, ledger.New(signer, "bench.kaiping.invalid/ledger"))
	w.svc = evaluation.NewService(w.store, nil, kaiping.SystemClock{}, slog.New(slog.DiscardHandler), evaluation.DefaultConfig)
	w.svc.ReviewRecordsFrom(scoringRecords{w.db})
	if err := w.seed(ctx); err != nil {
		return w, fmt.Errorf("seeding the session: %w", err)
	}
	return w, nil
}

func (w *scoringWorld) close() {
	if w.db != nil {
		w.db.Close()
	}
	if w.pg != nil {
		w.pg.Stop()
	}
}

// scoringRecords stands for the opening's published record: the bids of every section with
// the prices it read out, from the scenario's own table, which the anchor reads too.
type scoringRecords struct{ db *postgres.DB }

func (r scoringRecords) RecordedBids(ctx context.Context, section kaiping.ID) ([]evaluation.RecordedBid, error) {
	rows, err := r.db.Pool.Query(ctx, `SELECT bidder_id, name, price FROM bench_bids WHERE section_id = $1 ORDER BY position`, section)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (evaluation.RecordedBid, error) {
		b := evaluation.RecordedBid{Opened: true}
		return b, row.Scan(&b.Bidder, &b.Name, &b.Price)
	})
}

// uuidBytes is id as COPY's binary format takes a uuid.
func uuidBytes(id kaiping.ID) [16]byte {
	var b [16]byte
	_, _ = hex.Decode(b[:], []byte(strings.ReplaceAll(string(id), "-", "")))
	return b
}

// seed writes the tender with its method and sections, the session with its groups and
// members, every section's review in the detailed stage with the ceiling, the bids, and
// every member's initial-review verdicts and scores, submitted. The spread is what a real
// committee gives: objective items scored alike, subjective ones within 0.3 points of
// each other; and, so that every check has work, a few bids failing the initial review by a
// majority, some single dissenting verdicts, objective items now and then scored apart,
// subjective scores far off the others', prices below cost, above the ceiling, and equal
// prices with equal scores (tied ranks).
func (w *scoringWorld) seed(ctx context.Context) error {
	p, m := w.plan, w.method
	rng := rand.New(rand.NewPCG(15, uint64(p.bidders)))
	now := time.Now().UTC()
	tender := kaiping.NewID()
	methodJSON, err := json.Marshal(m)
	if err != nil {
		return err
	}
	pool := w.db.Pool
	if _, err := pool.Exec(ctx, `INSERT INTO tenders (id, code, title, tenderer, deadline, envelope_plan, suite, summary_fields,
		max_envelope_bytes, min_bids, rescue, created_at, evaluation_method)
		VALUES ($1, 'BENCH-SCORING', '评分基准测试项目', '基准测试招标人', $2, 'single', 'aes256gcm', '[]', 1, 3, '{}', $2, $3)`,
		tender, now, methodJSON); err != nil {
		return err
	}
	w.session = kaiping.NewID()
	sess := evaluation.Session{ID: w.session, Tender: tender, TenderCode: "BENCH-SCORING", TenderTitle: "评分基准测试项目",
		State: evaluation.SessionInReview, Suspensions: []evaluation.Suspension{}, Version: 1, CreatedAt: now, UpdatedAt: now}
	var sections []kaiping.ID
	for g := range p.groups {
		grp := evaluation.Group{ID: fmt.Sprintf("G%d", g+1), Name: fmt.Sprintf("第%d评标小组", g+1), Draw: kaiping.NewID(), Size: p.members,
			Votes: []evaluation.Vote{}, ExtensionRequests: []evaluation.ExtensionRequest{}, Extensions: []evaluation.Extension{}}
		for k := range p.members {
			id := kaiping.NewID()
			if k == 0 {
				grp.Chair = id
			}
			sess.Members = append(sess.Members, evaluation.SessionMember{ID: id, Kind: evaluation.MemberDrawn, Group: grp.ID,
				Name: fmt.Sprintf("评委%d-%d", g+1, k+1), Accepted: true})
		}
		for s := range p.sections {
			sec := evaluation.GroupSection{ID: kaiping.NewID(), Code: fmt.Sprintf("BD%02d-%02d", g+1, s+1), Name: fmt.Sprintf("第%d组第%d标段", g+1, s+1)}
			grp.Sections = append(grp.Sections, sec)
			sections = append(sections, sec.ID)
			if _, err := pool.Exec(ctx, `INSERT INTO tender_sections (id, tender_id, code, name, position) VALUES ($1, $2, $3, $4, $5)`,
				sec.ID, tender, sec.Code, sec.Name, len(sections)); err != nil {
				return err
			}
		}
		sess.Groups = append(sess.Groups, grp)
	}
	body, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO eval_sessions (id, tender_id, state, version, body, created_at, updated_at)
		VALUES ($1, $2, 'in_review', 1, $3, $4, $4)`, w.session, tender, body, now); err != nil {
		return err
	}
	for g, grp := range sess.Groups {
		for _, sec := range grp.Sections {
			rev := evaluation.Review{Session: w.session, Section: sec.ID, Group: grp.ID, Stage: evaluation.ReviewDetailed, Ceiling: scoringCeiling,
				Decisions: []evaluation.BidDecision{}, Notes: []evaluation.WarningNote{}, Version: 1}
			body, err := json.Marshal(rev)
			if err != nil {
				return err
			}
			if _, err := pool.Exec(ctx, `INSERT INTO eval_reviews (session_id, section_id, body, updated_at) VALUES ($1, $2, $3, $4)`,
				w.session, sec.ID, body, now); err != nil {
				return err
			}
			for _, mem := range sess.Members[g*p.members : (g+1)*p.members] {
				for _, stage := range []evaluation.ReviewStage{evaluation.ReviewInitial, evaluation.ReviewDetailed} {
					if _, err := pool.Exec(ctx, `INSERT INTO eval_submissions (session_id, section_id, member_id, stage, digest, submitted_at, ledger_seq)
						VALUES ($1, $2, $3, $4, 'bench', $5, 0)`, w.session, sec.ID, mem.ID, stage, now); err != nil {
						return err
					}
				}
			}
		}
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_bids (section_id uuid NOT NULL, bidder_id uuid NOT NULL, name text NOT NULL,
			price bigint NOT NULL, position int NOT NULL, PRIMARY KEY (section_id, bidder_id));
		CREATE TABLE bench_items (item text PRIMARY KEY, weight int NOT NULL)`); err != nil {
		return err
	}
	var itemRows [][]any
	for _, grp := range m.Criteria {
		for _, it := range grp.Items {
			itemRows = append(itemRows, []any{it.Code, grp.Weight})
		}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_items"}, []string{"item", "weight"}, pgx.CopyFromRows(itemRows)); err != nil {
		return err
	}
	var bidRows, markRows [][]any
	sessB := uuidBytes(w.session)
	type lastBid struct {
		price  int64
		scores [][]int64
	}
	last := map[int]lastBid{}
	for b := range p.bidders {
		si := b % len(sections)
		g := si / p.sections
		sec := uuidBytes(sections[si])
		members := sess.Members[g*p.members : (g+1)*p.members]
		bidder := kaiping.NewID()
		bidderB := uuidBytes(bidder)
		// Prices: 80–98 % of the ceiling; 2 % far below (below cost), 0.5 % above the ceiling.
		price := scoringCeiling * (800_000 + rng.Int64N(180_000)) / 1_000_000
		switch x := rng.IntN(1000); {
		case x < 20:
			price = scoringCeiling * (550_000 + rng.Int64N(100_000)) / 1_000_000
		case x < 25:
			price = scoringCeiling * (1_010_000 + rng.Int64N(40_000)) / 1_000_000
		}
		// 1 %: a bid copying the previous one of its section, price and scores: equal prices,
		// a tie in rank.
		prev, hasPrev := last[si]
		copyPrev := hasPrev && rng.IntN(100) == 0
		if copyPrev {
			price = prev.price
		}
		bidRows = append(bidRows, []any{sec, bidderB, fmt.Sprintf("投标人%05d", b+1), price, b})
		// Initial review: 1.5 % fail an item by a majority (not valid), 3 % with one dissent.
		failing, dissent := rng.IntN(1000) < 15, rng.IntN(100) < 3
		for k, mem := range members {
			for ri, item := range m.Review {
				v, reason := int64(1), ""
				if failing && ri == 1 && k <= p.members/2 || dissent && !failing && ri == 0 && k == p.members-1 {
					v, reason = 0, "资格证明文件不全"
				}
				markRows = append(markRows, []any{sessB, sec, uuidBytes(mem.ID), string(evaluation.ReviewInitial), bidderB, item.Code, v, reason, nil, now})
			}
		}
		if failing {
			continue // members score only the valid bids
		}
		scores := make([][]int64, len(members))
		for k := range scores {
			scores[k] = make([]int64, 0, p.items)
		}
		items := 0
		for _, grp := range m.Criteria {
			for _, it := range grp.Items {
				base := rng.Int64N(it.Max + 1)
				for k := range members {
					v := base
					switch {
					case copyPrev:
						v = prev.scores[k][items]
					case it.Objective:
						if k == 1 && rng.IntN(200) == 0 {
							v = min(it.Max, base+100) // one member reads the evidence differently
						}
					default:
						v = min(it.Max, max(0, base+rng.Int64N(61)-30))
						if rng.IntN(100) == 0 {
							v = (base + it.Max/2) % (it.Max + 1) // far from the others
						}
					}
					scores[k] = append(scores[k], v)
				}
				items++
			}
		}
		code := 0
		for _, grp := range m.Criteria {
			for _, it := range grp.Items {
				for k, mem := range members {
					markRows = append(markRows, []any{sessB, sec, uuidBytes(mem.ID), string(evaluation.ReviewDetailed), bidderB, it.Code, scores[k][code], "", nil, now})
				}
				code++
			}
		}
		last[si] = lastBid{price: price, scores: scores}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_bids"}, []string{"section_id", "bidder_id", "name", "price", "position"}, pgx.CopyFromRows(bidRows)); err != nil {
		return err
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"eval_marks"},
		[]string{"session_id", "section_id", "member_id", "stage", "bidder_id", "item", "value", "reason", "page", "updated_at"},
		pgx.CopyFromRows(markRows)); err != nil {
		return err
	}
	w.marks = len(markRows)
	for _, t := range []string{"eval_marks", "bench_bids"} {
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
			return err
		}
	}
	return pool.QueryRow(ctx, `SELECT pg_total_relation_size('eval_marks')`).Scan(&w.bytes)
}

// scoringRank is one valid bid's place as a side computed it.
type scoringRank struct {
	Total int64
	Rank  int
}

// scoringOutcome is what the computation found: every valid bid's total and rank by section
// and bidder, and the warnings by code.
type scoringOutcome struct {
	ranks    map[[2]kaiping.ID]scoringRank
	warnings map[string]int
}

// ours computes the session through the review service, as the chair's summary computes a
// section: ComputeSession reads every section's review, submissions and marks from
// PostgreSQL, builds the inputs and runs scoring.Compute with every warning.
func (w *scoringWorld) ours(ctx context.Context) (scoringOutcome, error) {
	outs, err := w.svc.ComputeSession(ctx, w.session)
	if err != nil {
		return scoringOutcome{}, err
	}
	got := scoringOutcome{ranks: map[[2]kaiping.ID]scoringRank{}, warnings: map[string]int{}}
	for _, o := range outs {
		if o.Outcome == nil {
			return got, fmt.Errorf("section %s not computed: %s", o.Section, o.Pending)
		}
		for _, b := range o.Outcome.Result.Bids {
			if b.Valid {
				got.ranks[[2]kaiping.ID{o.Section, kaiping.ID(b.Bidder)}] = scoringRank{Total: b.Total, Rank: b.Rank}
			}
		}
		for _, wn := range o.Outcome.Warnings {
			got.warnings[wn.Code]++
		}
	}
	return got, nil
}

// scoringAnchorSQL is the same totals and ranks as one plain SQL aggregate over the same
// rows: the bids valid by a majority on every initial-review item; per section, bidder and
// item the members' mean score, rounded; the weighted sum of the items, rounded; the
// average-base price score (the mean of the valid prices without the highest and the lowest
// from 5 of them, less the 下浮, and the points off per 1 % above and below it); and rank()
// by total, then the lower price. numeric rounds half away from zero, as half_up does on
// these non-negative figures.
const scoringAnchorSQL = `
WITH valid AS (
	SELECT section_id, bidder_id FROM (
		SELECT section_id, bidder_id, item, 2 * sum(value) > count(*) AS passed
		FROM eval_marks WHERE session_id = $1 AND stage = 'initial' GROUP BY section_id, bidder_id, item) v
	GROUP BY section_id, bidder_id HAVING bool_and(passed)
), items AS (
	SELECT m.section_id, m.bidder_id, m.item, round(sum(m.value)::numeric / count(*)) AS score
	FROM eval_marks m JOIN valid USING (section_id, bidder_id)
	WHERE m.session_id = $1 AND m.stage = 'detailed' GROUP BY m.section_id, m.bidder_id, m.item
), technical AS (
	SELECT i.section_id, i.bidder_id, round(sum(w.weight * i.score) / 100) AS technical
	FROM items i JOIN bench_items w USING (item) GROUP BY i.section_id, i.bidder_id
), priced AS (
	SELECT t.section_id, t.bidder_id, t.technical, b.price FROM technical t JOIN bench_bids b USING (section_id, bidder_id)
), base AS (
	SELECT section_id, greatest(1, round(
		(sum(price) - CASE WHEN count(*) >= $2::bigint THEN min(price) + max(price) ELSE 0 END)::numeric * (10000 - $3::bigint)
		/ ((count(*) - CASE WHEN count(*) >= $2::bigint THEN 2 ELSE 0 END) * 10000))) AS s
	FROM priced GROUP BY section_id
), totals AS (
	SELECT p.section_id, p.bidder_id, p.price, p.technical + greatest(0, round(
		($4::bigint * b.s - abs(p.price - b.s) * 100 * CASE WHEN p.price > b.s THEN $5::bigint ELSE $6::bigint END) / b.s)) AS total
	FROM priced p JOIN base b USING (section_id)
)
SELECT section_id, bidder_id, total::bigint, rank() OVER (PARTITION BY section_id ORDER BY total DESC, price) FROM totals`

// anchor runs scoringAnchorSQL and reads every row.
func (w *scoringWorld) anchor(ctx context.Context) (scoringOutcome, error) {
	pr := w.method.Price
	rows, err := w.db.Pool.Query(ctx, scoringAnchorSQL, w.session, pr.TrimFrom, pr.Downward, pr.Max, pr.KAbove, pr.KBelow)
	if err != nil {
		return scoringOutcome{}, err
	}
	got := scoringOutcome{ranks: map[[2]kaiping.ID]scoringRank{}}
	var section, bidder kaiping.ID
	var r scoringRank
	_, err = pgx.ForEachRow(rows, []any{&section, &bidder, &r.Total, &r.Rank}, func() error {
		got.ranks[[2]kaiping.ID{section, bidder}] = r
		return nil
	})
	return got, err
}

// sameRanks checks that both sides found the same valid bids with the same totals and ranks.
func sameRanks(ours, anchor scoringOutcome) error {
	var diffs []string
	for k, o := range ours.ranks {
		if a, ok := anchor.ranks[k]; !ok || a != o {
			diffs = append(diffs, fmt.Sprintf("section %s bidder %s: ours total %d rank %d, anchor %+v (found %v)", k[0], k[1], o.Total, o.Rank, a, ok))
		}
	}
	for k := range anchor.ranks {
		if _, ok := ours.ranks[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("section %s bidder %s: ranked by the anchor only", k[0], k[1]))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return fmt.Errorf("ours and the SQL anchor differ on %d of %d bids, e.g. %s", len(diffs), len(ours.ranks), strings.Join(diffs[:min(3, len(diffs))], "; "))
	}
	return nil
}
