package opening

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/httpapi"
)

// recordReaders may download exported records: the bidders of the section (checked per
// section) once the record is published, hosts and supervisors.
var recordReaders = []kaiping.Role{kaiping.RoleBidder, kaiping.RoleHost, kaiping.RoleSupervisor}

// Routes returns the routes of the exported records, under
// /api/v1/tenders/:id/sections/:section/hall:
//
//	GET /hall/record/exports        bidder in the set, host, supervisor   the ledgered exports of every round
//	GET /hall/record.pdf?round=N    bidder in the set, host, supervisor   the record as PDF (the latest round by default)
//	GET /hall/record.json?round=N   bidder in the set, host, supervisor   the record's canonical JSON, as confirmed
//
// With &stage=final the downloads are the round's final record (archived at its close).
//
// A download is checked against the SHA-256 in the ledger before it is sent, and carries it
// in X-Kaiping-SHA256 with the ledger entry in X-Kaiping-Ledger-Seq.
func (x *RecordExporter) Routes() []httpapi.Route {
	const p = "/api/v1/tenders/:id/sections/:section/hall/record"
	return []httpapi.Route{
		{Method: fiber.MethodGet, Path: p + "/exports", Roles: recordReaders, Duties: hallDuties, Tender: tenderOfPath, Handler: x.handleExports},
		{Method: fiber.MethodGet, Path: p + ".pdf", Roles: recordReaders, Duties: hallDuties, Tender: tenderOfPath, Handler: x.handleDownload(FormatPDF)},
		{Method: fiber.MethodGet, Path: p + ".json", Roles: recordReaders, Duties: hallDuties, Tender: tenderOfPath, Handler: x.handleDownload(FormatJSON)},
	}
}

// maxRecordExportBytes bounds what a download reads into memory to check it.
const maxRecordExportBytes = 64 << 20

// section resolves the path's tender and section and checks that the caller may read the
// section's records: the tender's assigned host or supervisors, or a bidder with an envelope
// in its bid set.
func (x *RecordExporter) section(c *fiber.Ctx) (Tender, Section, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return Tender{}, Section{}, err
	}
	t, err := x.store.Tender(c.UserContext(), id)
	if err != nil {
		return Tender{}, Section{}, err
	}
	sec, err := t.Section(c.Params("section"))
	if err != nil {
		return Tender{}, Section{}, err
	}
	if httpapi.Assigned(c) {
		return t, sec, nil
	}
	p, _ := httpapi.PrincipalOf(c)
	envs, err := x.store.HallEnvelopes(c.UserContext(), sec.ID, p.ID)
	if err != nil {
		return Tender{}, Section{}, err
	}
	if len(envs) == 0 {
		return Tender{}, Section{}, notBidder()
	}
	return t, sec, nil
}

func (x *RecordExporter) handleExports(c *fiber.Ctx) error {
	_, sec, err := x.section(c)
	if err != nil {
		return err
	}
	exports, err := x.store.RecordExports(c.UserContext(), sec.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"exports": exports})
}

func (x *RecordExporter) handleDownload(format string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, sec, err := x.section(c)
		if err != nil {
			return err
		}
		round, err := strconv.Atoi(c.Query("round", "0"))
		if err != nil || round < 0 || round > 2 {
			return invalid("hall.record_round", "round 须为 1 或 2（不指定则为最新一轮）")
		}
		stage := c.Query("stage", StagePublished)
		if stage != StagePublished && stage != StageFinal {
			return invalid("hall.record_stage", "stage 须为 published（公布时的开标记录）或 final（开标结束时的最终记录）")
		}
		e, err := x.export(c.UserContext(), sec.ID, round, stage, format)
		if err != nil {
			return err
		}
		body, err := x.read(c.UserContext(), e)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("开标记录-%s-%s", t.Code, sec.Code)
		if e.Round >= 2 {
			name += "-第二轮"
		}
		if e.Stage == StageFinal {
			name += "-最终"
		}
		c.Set(fiber.HeaderContentDisposition, "attachment; filename*=UTF-8''"+url.PathEscape(name+"."+format))
		c.Set("X-Kaiping-SHA256", e.SHA256)
		c.Set("X-Kaiping-Ledger-Seq", strconv.FormatInt(e.LedgerSeq, 10))
		if format == FormatPDF {
			c.Set(fiber.HeaderContentType, "application/pdf")
		} else {
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		}
		return c.Send(body)
	}
}

// export finds the ledgered export of a section's record in round (0: the latest), stage
// and format: "hall.no_record" before the record is published ("hall.no_final_record"
// before the round closed), "hall.record_archiving" while its export is still to be
// ledgered.
func (x *RecordExporter) export(ctx context.Context, section kaiping.ID, round int, stage, format string) (RecordExport, error) {
	var rec RoundRecord
	if stage == StageFinal {
		pr, err := x.store.FinalRecordOf(ctx, section, round)
		if err != nil {
			return RecordExport{}, err
		}
		f, err := DecodeFinalRecord(pr.Record)
		if err != nil {
			return RecordExport{}, err
		}
		rec.Round = f.Round
	} else {
		pr, err := x.store.RecordOf(ctx, section, round)
		if err != nil {
			return RecordExport{}, err
		}
		if rec, err = DecodeRoundRecord(pr.Record); err != nil {
			return RecordExport{}, err
		}
	}
	exports, err := x.store.RecordExports(ctx, section)
	if err != nil {
		return RecordExport{}, err
	}
	i := slices.IndexFunc(exports, func(e RecordExport) bool {
		return e.Round == rec.Round && e.Stage == stage && e.Format == format
	})
	if i < 0 {
		return RecordExport{}, kaiping.E(kaiping.KindUnavailable, "hall.record_archiving", "开标记录正在归档，请稍后再下载")
	}
	return exports[i], nil
}

// read fetches an export from the archive and checks it against the ledgered digest: what
// is sent is exactly what was ledgered, or nothing.
func (x *RecordExporter) read(ctx context.Context, e RecordExport) ([]byte, error) {
	r, err := x.archive.Open(ctx, e.ObjectKey, e.ObjectVersion)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	body, err := io.ReadAll(io.LimitReader(r, maxRecordExportBytes+1))
	if err != nil {
		return nil, kaiping.Internal("opening.RecordExport read "+e.ObjectKey, err)
	}
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
		return nil, kaiping.Internal("opening.RecordExport "+e.ObjectKey, fmt.Errorf("archived object has SHA-256 %s, the ledger says %s", got, e.SHA256))
	}
	return body, nil
}
