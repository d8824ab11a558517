package bidder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/opening"
)

// SaveJSON writes v indented to path, readable only by its owner (receipts name the bid).
func SaveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// ReadReceipt reads a receipt file as SaveJSON wrote it.
func ReadReceipt(path string) (opening.Receipt, error) {
	var rc opening.Receipt
	b, err := os.ReadFile(path)
	if err != nil {
		return rc, err
	}
	if err := json.Unmarshal(b, &rc); err != nil {
		return rc, fmt.Errorf("回执文件格式错误: %w", err)
	}
	return rc, nil
}

// FetchTimeStamp fetches the RFC 3161 time-stamp of a receipt whose time-stamp was still
// pending when it was issued; while the authority has not answered it is a
// receipt.time_stamp_pending conflict.
func FetchTimeStamp(ctx context.Context, api *apiclient.Client, rc opening.Receipt) (opening.TimeStamp, error) {
	var ts opening.TimeStamp
	if err := api.Do(ctx, http.MethodGet, "/api/v1/receipts/"+strconv.FormatInt(rc.Ledger.Seq, 10)+"/time-stamp", nil, &ts); err != nil {
		return ts, err
	}
	if ts.Pending {
		return ts, kaiping.E(kaiping.KindConflict, "receipt.time_stamp_pending", "时间戳服务机构尚未签发该回执的时间戳，请稍后再试")
	}
	return ts, nil
}

// UploadState is what submit keeps beside the sealed file while an upload is open, so that
// running the same command again resumes it instead of starting over.
type UploadState struct {
	Upload string `json:"upload_id"`
	SHA256 string `json:"sha256"`
}

// StatePath and ReceiptPath are where the upload state and the receipt of the sealed file
// at path are kept: beside it.
func StatePath(path string) string { return path + ".upload.json" }

// ReceiptPath: see StatePath.
func ReceiptPath(path string) string { return path + ".receipt.json" }

// ReadUploadState reads the upload state at path; ok is false if there is none to resume.
// An error other than its absence is returned for the caller to warn about.
func ReadUploadState(path string) (st UploadState, ok bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return st, false, err
	}
	return st, json.Unmarshal(b, &st) == nil && st.Upload != "", nil
}
