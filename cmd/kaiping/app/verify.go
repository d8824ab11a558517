package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/storage/ledger"
	"github.com/kaiping/kaiping/storage/postgres"
)

// LoadVerifier reads the platform public key from the PEM file publicKey, or, if it is
// empty, derives it from the signing key the configuration names.
func LoadVerifier(cfg Config, publicKey string) (ledger.Verifier, error) {
	if publicKey != "" {
		b, err := os.ReadFile(publicKey)
		if err != nil {
			return nil, err
		}
		return ledger.ParseVerifier(b)
	}
	signer, err := LoadSigner(cfg)
	if err != nil {
		return nil, err
	}
	return ledger.VerifierFor(signer)
}

// LoadSigner reads the ledger signing key the configuration names.
func LoadSigner(cfg Config) (ledger.Signer, error) {
	b, err := os.ReadFile(cfg.Ledger.SigningKeyFile)
	if err != nil {
		return nil, err
	}
	return ledger.ParseSigner(b)
}

// VerifyLedger recomputes the whole audit ledger from the configured database and checks
// every signature with v (`kaiping ledger verify`). The report is nil when the database
// could not be opened, and otherwise says how far the check got even when it failed.
func VerifyLedger(ctx context.Context, cfg Config, v ledger.Verifier) (*ledger.Report, error) {
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	report, err := ledger.Verify(ctx, db.Pool, v, cfg.Ledger.Origin)
	return &report, err
}

// VerifyDraw re-runs the expert draw id from its ledger entries and proves each of those
// entries is in the signed ledger (`kaiping draw verify`). It returns the draw's record and
// the report of the re-run; the report is nil when the draw could not be read at all, and
// otherwise worth showing even when the verification failed.
func VerifyDraw(ctx context.Context, cfg Config, v ledger.Verifier, id kaiping.ID) (evaluation.DrawRecord, *evaluation.VerifyReport, error) {
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return evaluation.DrawRecord{}, nil, err
	}
	defer db.Close()
	rec, err := postgres.NewEvaluationStore(db, nil).DrawRecord(ctx, id)
	if err != nil {
		return rec, nil, err
	}
	report, err := evaluation.VerifyDraw(rec)
	if err == nil {
		err = proveEntries(ctx, db, v, cfg.Ledger.Origin, rec.Entries)
	}
	return rec, &report, err
}

// proveEntries checks that every entry the draw was re-run from is, byte for byte, in the
// platform's signed ledger: the latest checkpoint's signature verifies and each entry has an
// inclusion proof against it. Without this, whoever could rewrite the draw's rows could
// rewrite its entries too.
func proveEntries(ctx context.Context, db *postgres.DB, v ledger.Verifier, origin string, entries []evaluation.LedgerEntry) error {
	l := ledger.New(nil, origin)
	cp, err := l.Checkpoint(ctx, db.Pool)
	if err != nil {
		return err
	}
	if err := cp.Verify(v); err != nil {
		return err
	}
	for _, e := range entries {
		entry, err := l.ReadEntry(ctx, db.Pool, e.Seq)
		if err != nil {
			return err
		}
		proof, err := l.ProveInclusion(ctx, db.Pool, e.Seq, cp.Size)
		if err == nil {
			err = ledger.VerifyInclusion(proof, cp.Checkpoint, entry.LeafData())
		}
		if err != nil {
			return kaiping.Errorf(kaiping.KindInvalid, "draw.ledger_tampered",
				"审计日志第 %d 条（%s）不在已签名的日志中，记录被篡改（运行 kaiping ledger verify 定位）：%v", e.Seq, e.Action, err)
		}
	}
	return nil
}

// VerifyEvaluation recomputes session id's evaluation from the ledger, checks its report and
// every signature, and proves each ledger entry it used is in the signed ledger (`kaiping
// evaluation verify`). The check is nil when the session could not be read at all.
func VerifyEvaluation(ctx context.Context, cfg Config, v ledger.Verifier, id kaiping.ID) (*evaluation.ReportCheck, error) {
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	svc := evaluation.NewService(postgres.NewEvaluationStore(db, nil), nil, kaiping.SystemClock{}, slog.New(slog.DiscardHandler), evaluation.DefaultConfig)
	svc.ReviewRecordsFrom(committeeRecords{store: postgres.NewOpeningStore(db, nil)})
	rec, err := svc.ReportRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	check, err := evaluation.CheckReport(rec, evaluation.Papers{})
	if err == nil {
		err = proveEntries(ctx, db, v, cfg.Ledger.Origin, rec.Entries)
	}
	return &check, err
}
