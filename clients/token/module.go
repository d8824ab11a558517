package token

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/miekg/pkcs11"
)

// A PKCS#11 library keeps process-wide state: C_Initialize works once per process, and the
// login state belongs to the application and the slot, shared by all its sessions. So the
// Keys of one process share one loaded module and count their logins per slot here; the
// last Key closed logs out and finalizes. This registry mirrors the library's own global
// state, which is why it is a package variable.
var modules = struct {
	sync.Mutex
	byPath map[string]*module
}{byPath: map[string]*module{}}

// module is one loaded PKCS#11 library.
type module struct {
	path string
	ctx  *pkcs11.Ctx
	refs int
	// owned: this package called C_Initialize and so must call C_Finalize. It is false
	// when something else in the process had already initialized the library.
	owned  bool
	logins map[uint]*login
}

// login is the user login of one slot, shared by the Keys open on it.
type login struct {
	refs int
	// pinSum is the SHA-256 of the PIN that logged in: a second Key on the slot cannot have
	// its PIN checked by the token (C_Login answers "already logged in"), so it is checked
	// against this.
	pinSum [32]byte
	// ours: this package logged in, so it logs out when the last Key goes.
	ours bool
}

// acquireModule loads and initializes the library at path, or takes another reference to it.
func acquireModule(path string) (*module, error) {
	if path == "" {
		return nil, errModule(path, "未指定模块路径")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, errModule(path, "文件不存在或无法访问")
	}
	// The dynamic loader maps one file once whatever path names it, so key the registry by
	// the real file: two names must not initialize one library twice.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	modules.Lock()
	defer modules.Unlock()
	if m := modules.byPath[path]; m != nil {
		m.refs++
		return m, nil
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, errModule(path, "不是 PKCS#11 模块，或缺少它依赖的库")
	}
	m := &module{path: path, ctx: ctx, refs: 1, owned: true, logins: map[uint]*login{}}
	if err := ctx.Initialize(); err != nil {
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, errModule(path, "初始化失败："+err.Error())
		}
		m.owned = false
	}
	modules.byPath[path] = m
	return m, nil
}

// release drops a reference; the last one finalizes and unloads the library.
func (m *module) release() error {
	modules.Lock()
	defer modules.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules.byPath, m.path)
	var err error
	if m.owned {
		err = m.ctx.Finalize()
	}
	m.ctx.Destroy()
	return err
}

// login logs the user in on the slot of session sh, or checks pin against the login that
// is already there.
func (m *module) login(slot uint, sh pkcs11.SessionHandle, pin string) error {
	modules.Lock()
	defer modules.Unlock()
	sum := sha256.Sum256([]byte(pin))
	if l := m.logins[slot]; l != nil {
		if subtle.ConstantTimeCompare(l.pinSum[:], sum[:]) != 1 {
			return deviceErr("token.Open", pkcs11.Error(pkcs11.CKR_PIN_INCORRECT))
		}
		l.refs++
		return nil
	}
	l := &login{refs: 1, pinSum: sum, ours: true}
	if err := m.ctx.Login(sh, pkcs11.CKU_USER, pin); err != nil {
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
			return deviceErr("token.Open", err)
		}
		l.ours = false
	}
	m.logins[slot] = l
	return nil
}

// logout drops a Key's share of the slot's login; the last one logs out through sh.
func (m *module) logout(slot uint, sh pkcs11.SessionHandle) error {
	modules.Lock()
	defer modules.Unlock()
	l := m.logins[slot]
	if l == nil {
		return nil
	}
	l.refs--
	if l.refs > 0 {
		return nil
	}
	delete(m.logins, slot)
	if !l.ours {
		return nil
	}
	return m.ctx.Logout(sh)
}
