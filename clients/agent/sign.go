package agent

import (
	"encoding/base64"
	"net/http"
	"regexp"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/opening"
)

var (
	// nonceShape is a platform login nonce (prefix.body.mac, URL-safe Base64): the agent signs
	// nothing else as a login, though the domain string already keeps it a login.
	nonceShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,200}$`)
	// digestShape is a SHA-256 digest in lower-case hex, as the platform prints them.
	digestShape = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// idShape is a platform identifier.
	idShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// SignLoginRequest is the body of POST /v1/sign-login: the nonce of the platform's
// challenge (POST /api/v1/auth/challenge).
type SignLoginRequest struct {
	Nonce string `json:"nonce"`
}

// SignLoginResponse is what the page sends on to POST /api/v1/auth/login, as it is.
type SignLoginResponse = identity.LoginRequest

func (a *Agent) handleSignLogin(r *http.Request) (any, error) {
	var req SignLoginRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if !nonceShape.MatchString(req.Nonce) {
		return nil, fieldError("nonce")
	}
	sig, err := identity.SignLogin(a.cfg.Key, req.Nonce)
	if err != nil {
		return nil, a.signFailed("login", err)
	}
	return SignLoginResponse{Certificate: string(a.cfg.Certificate), Nonce: req.Nonce,
		Signature: base64.StdEncoding.EncodeToString(sig)}, nil
}

// The purposes POST /v1/sign accepts, each with the message it builds.
const (
	PurposeRecord        = "record"         // 开标记录确认: opening.RecordMessage(digest)
	PurposeReport        = "report"         // 评标报告签名: evaluation.ReportMessage(session, member, digest, dissent)
	PurposeInquiryAnswer = "inquiry_answer" // 澄清答复: evaluation.InquiryAnswerMessage(inquiry, digest, decision)
)

// SignRequest is the body of POST /v1/sign: a purpose and that purpose's fields, from which
// the agent builds the domain-separated message itself.
type SignRequest struct {
	Purpose  string `json:"purpose"`
	Digest   string `json:"digest"`             // every purpose: the SHA-256 of what is signed
	Session  string `json:"session,omitempty"`  // report
	Member   string `json:"member,omitempty"`   // report
	Dissent  string `json:"dissent,omitempty"`  // report: the dissent's text, "" to agree
	Inquiry  string `json:"inquiry,omitempty"`  // inquiry_answer
	Decision string `json:"decision,omitempty"` // inquiry_answer: answer, confirm or refuse
}

// SignResponse answers POST /v1/sign.
type SignResponse struct {
	Signature   string `json:"signature"`   // Base64 (standard)
	Fingerprint string `json:"fingerprint"` // of the certificate whose key signed
}

func (a *Agent) handleSign(r *http.Request) (any, error) {
	var req SignRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	msg, err := message(req)
	if err != nil {
		return nil, err
	}
	sig, err := certsign.Sign(a.cfg.Key, msg)
	if err != nil {
		return nil, a.signFailed(req.Purpose, err)
	}
	a.cfg.Log.Info("signed", "purpose", req.Purpose, "digest", req.Digest)
	return SignResponse{Signature: base64.StdEncoding.EncodeToString(sig), Fingerprint: a.fingerprint}, nil
}

// message builds the message of req's purpose from its fields, refusing any other purpose
// and any field a purpose does not use, so that no two requests sign the same bytes.
func message(req SignRequest) ([]byte, error) {
	if !digestShape.MatchString(req.Digest) {
		return nil, fieldError("digest")
	}
	switch req.Purpose {
	case PurposeRecord:
		if req.Session != "" || req.Member != "" || req.Dissent != "" || req.Inquiry != "" || req.Decision != "" {
			return nil, errBody
		}
		return opening.RecordMessage(req.Digest), nil
	case PurposeReport:
		if req.Inquiry != "" || req.Decision != "" {
			return nil, errBody
		}
		if !idShape.MatchString(req.Session) {
			return nil, fieldError("session")
		}
		if !idShape.MatchString(req.Member) {
			return nil, fieldError("member")
		}
		return evaluation.ReportMessage(kaiping.ID(req.Session), kaiping.ID(req.Member), req.Digest, req.Dissent), nil
	case PurposeInquiryAnswer:
		if req.Session != "" || req.Member != "" || req.Dissent != "" {
			return nil, errBody
		}
		if !idShape.MatchString(req.Inquiry) {
			return nil, fieldError("inquiry")
		}
		d := evaluation.InquiryDecision(req.Decision)
		if d != evaluation.DecisionAnswer && d != evaluation.DecisionConfirm && d != evaluation.DecisionRefuse {
			return nil, fieldError("decision")
		}
		return evaluation.InquiryAnswerMessage(kaiping.ID(req.Inquiry), req.Digest, d), nil
	default:
		return nil, errPurpose
	}
}

// signFailed logs why the key did not sign (a UKEY removed or locked) and answers the page
// with what the user can do.
func (a *Agent) signFailed(purpose string, err error) error {
	a.cfg.Log.Error("signing failed", "purpose", purpose, "err", err)
	return errSign
}
