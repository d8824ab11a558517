package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

type inner struct {
	Note string `json:"note"`
}

type embedded struct {
	Extra string `json:"extra"`
}

type strictBody struct {
	embedded
	Name   string            `json:"name" text:"line"`
	Text   string            `json:"text"`
	Price  int               `json:"price"`
	Items  []inner           `json:"items"`
	Ptr    *inner            `json:"ptr"`
	Labels map[string]string `json:"labels"`
	Raw    json.RawMessage   `json:"raw"`
}

func TestDecodeJSONStrict(t *testing.T) {
	f := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	f.Post("/", func(c *fiber.Ctx) error {
		var v strictBody
		if err := DecodeJSON(c, &v); err != nil {
			return err
		}
		return c.JSON(v)
	})
	tests := []struct {
		name, body, code string // code "" = accepted
	}{
		{"exact keys", `{"name":"某公司","text":"第一行\n第二行\t完","price":1,"items":[{"note":"x"}],"ptr":{"note":"y"},"labels":{"Any Key":"v"},"raw":{"Free":"v","free":1},"extra":"e"}`, ""},
		{"key in another case", `{"Name":"x"}`, "request.key_case"},
		{"key in another case, nested in an array", `{"items":[{"NOTE":"x"}]}`, "request.key_case"},
		{"key in another case, behind a pointer", `{"ptr":{"Note":"x"}}`, "request.key_case"},
		{"key in another case, embedded field", `{"Extra":"x"}`, "request.key_case"},
		{"duplicate key", `{"price":1,"price":2}`, "request.duplicate_key"},
		{"duplicate key, nested", `{"items":[{"note":"a","note":"b"}]}`, "request.duplicate_key"},
		{"duplicate map key", `{"labels":{"k":"a","k":"b"}}`, "request.duplicate_key"},
		{"duplicate key differing in case", `{"price":1,"Price":2}`, "request.key_case"},
		{"right-to-left override in text", `{"text":"价格 \u202e001"}`, "text.bidi_control"},
		{"isolate in a name", `{"name":"\u2066某公司\u2069"}`, "text.bidi_control"},
		{"bidi control in a map value", `{"labels":{"k":"\u202a"}}`, "text.bidi_control"},
		{"bidi control in a key", `{"labels":{"\u202ek":"v"}}`, "text.bidi_control"},
		{"C0 control", `{"text":"a\u0000b"}`, "text.control_character"},
		{"escape", `{"text":"a\u001bb"}`, "text.control_character"},
		{"C1 control", `{"text":"a\u0085b"}`, "text.control_character"},
		{"newline in a single-line field", `{"name":"某\n公司"}`, "text.control_character"},
		{"still unknown", `{"nmae":"x"}`, "request.unknown_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.Test(httptest.NewRequest("POST", "/", strings.NewReader(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if tt.code == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("refused: %s %s", resp.Status, body)
				}
				return
			}
			var eb ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != 400 || eb.Error.Code != tt.code {
				t.Fatalf("%s %s, want 400 %s", resp.Status, body, tt.code)
			}
		})
	}
}

func TestNoStore(t *testing.T) {
	f := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	f.Use("/api", NoStore)
	f.Get("/api/ok", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{}) })
	f.Get("/api/fail", func(c *fiber.Ctx) error { return fiber.ErrTeapot })
	for _, path := range []string{"/api/ok", "/api/fail", "/api/nowhere"} {
		resp, err := f.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (%s): headers %v", path, resp.Status, resp.Header)
		}
	}
}
