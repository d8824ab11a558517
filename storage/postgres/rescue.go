package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/jackc/pgx/v5"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening/rescue"
)

// RescueHolders implements opening.Store.
func (s *OpeningStore) RescueHolders(ctx context.Context, ids []kaiping.ID, at time.Time) ([]rescue.Holder, error) {
	holders := make([]rescue.Holder, 0, len(ids))
	for _, id := range ids {
		refuse := func(why string) error {
			return kaiping.Errorf(kaiping.KindInvalid, "tender.rescue_holder", "补救密钥持有人 %s %s", id, why)
		}
		if !id.Valid() {
			return nil, refuse("不是有效的标识")
		}
		var roles []string
		var der []byte
		err := s.db.Pool.QueryRow(ctx, `SELECT p.roles, c.der FROM principals p
			LEFT JOIN LATERAL (SELECT der FROM principal_certificates
				WHERE principal_id = p.id AND not_after > $2 ORDER BY created_at DESC LIMIT 1) c ON true
			WHERE p.id = $1`, id, at).Scan(&roles, &der)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil, refuse("不存在")
		case err != nil:
			return nil, translate("pg.RescueHolders", err)
		case !slices.Contains(roles, string(kaiping.RoleSupervisor)):
			return nil, refuse("不是监督人员")
		case der == nil:
			return nil, refuse("没有登记有效的数字证书")
		}
		cert, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, kaiping.Internal("pg.RescueHolders", err)
		}
		holders = append(holders, rescue.Holder{Principal: id, Certificate: cert})
	}
	return holders, nil
}

// RescueSetup implements opening.Store.
func (s *OpeningStore) RescueSetup(ctx context.Context, tender kaiping.ID) (rescue.Setup, error) {
	var setup rescue.Setup
	var raw []byte
	if !tender.Valid() {
		return setup, notFoundTender()
	}
	err := s.db.Pool.QueryRow(ctx, `SELECT rescue_setup FROM tenders WHERE id = $1`, tender).Scan(&raw)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return setup, notFoundTender()
	case err != nil:
		return setup, translate("pg.RescueSetup", err)
	case raw == nil:
		return setup, kaiping.E(kaiping.KindNotFound, "rescue.none", "本项目未设解密补救方案")
	}
	// Setup's decoder checks the stored setup is self-consistent: a damaged row fails here.
	if err := json.Unmarshal(raw, &setup); err != nil {
		return setup, kaiping.Internal("pg.RescueSetup "+string(tender), err)
	}
	return setup, nil
}
