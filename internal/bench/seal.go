package bench

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"filippo.io/age"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/opening/seal"
)

// ageAnchor names the anchor of the sealing figures.
const ageAnchor = "age v1.2.1, X25519, streaming writer"

func benchSealCommand() *cli.Command {
	return &cli.Command{
		Name:   "seal",
		Usage:  "seal a file with AES-256-GCM and SM4-GCM against age encrypting the same file",
		Flags:  append(benchFlags("1GiB"), profileFlag()),
		Action: benchSeal,
	}
}

func benchSeal(ctx context.Context, cmd *cli.Command) error {
	b, cleanup, err := newBenchSetup(cmd)
	if err != nil {
		return err
	}
	defer cleanup()
	in, out := b.path("plain.bin"), b.path("out.bin")
	if err := writeRandomFile(ctx, in, b.size); err != nil {
		return err
	}
	files := []string{"--in", in, "--out", out}
	sides := []benchSide{
		{name: "aes", args: append([]string{"seal", "--suite", string(seal.AES256GCM)}, files...)},
		{name: "age", args: append([]string{"age"}, files...)},
		{name: "sm4", args: append([]string{"seal", "--suite", string(seal.SM4GCM)}, files...)},
		{name: "sha256", args: []string{"sha256", "--in", in}},
	}
	profileSides(cmd.String("profile"), sides)
	got, err := runAlternating(ctx, b.runs, sides, func(benchSide, benchSample) error {
		if err := os.Remove(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	mbps := func(name string) []float64 { return sampleValues(got[name], benchSample.MBps) }
	peak := func(name string) []float64 { return sampleValues(got[name], benchSample.PeakMiB) }
	under64 := &benchGoal{Below: 64}
	r := b.result("Seal a bid file", "Each side reads the same random file from disk and writes its output to a new file on the same disk (no fsync; the input is in the page cache after the first run). "+
		"Ours is opening/seal.Seal with its defaults (GOMAXPROCS workers) to a P-256 certificate recipient and a rescue recipient; the anchor is age.Encrypt to one X25519 recipient, io.Copy into its writer. "+
		"Timed from opening the input to closing the output; key generation and process start-up are not timed.")
	r.Figures = []benchFigure{
		newFigure("seal, AES-256-GCM", "MB/s", ageAnchor, "median", mbps("aes"), mbps("age"), &benchGoal{MinRatio: 1.5}),
		newFigure("seal, SM4-GCM (国密)", "MB/s", ageAnchor, "median", mbps("sm4"), mbps("age"), nil),
		newFigure("SHA-256 alone of the same file (no encryption, no output)", "MB/s", ageAnchor, "median", mbps("sha256"), mbps("age"), nil),
		newFigure("peak memory, seal AES-256-GCM", "MiB", ageAnchor, "max", peak("aes"), peak("age"), under64),
		newFigure("peak memory, seal SM4-GCM", "MiB", ageAnchor, "max", peak("sm4"), peak("age"), under64),
	}
	r.Notes = []string{
		fmt.Sprintf("Seal does not hash its output by default (seal.WithDigest turns it on): one SHA-256 stream cannot be split across cores, "+
			"and SHA-256 alone ran at %.0f MB/s, %.2f× age, so hashing would bound sealing below that whatever the cipher. The tool hashes the file when it submits it.",
			medianOf(mbps("sha256")), medianOf(mbps("sha256"))/medianOf(mbps("age"))),
		fmt.Sprintf("ru_maxrss of the children (KiB; on Linux it also counts the spawning process's peak): AES %s; SM4 %s; age %s.",
			joinFloats(maxRSS(got["aes"])), joinFloats(maxRSS(got["sm4"])), joinFloats(maxRSS(got["age"]))),
	}
	return emitResult(cmd, r)
}

// childIOFlags are the input and output files of a sealing child.
func childIOFlags() []cli.Flag {
	return []cli.Flag{&cli.StringFlag{Name: "in", Required: true}, &cli.StringFlag{Name: "out", Required: true}}
}

func sealChildCommand() *cli.Command {
	return &cli.Command{
		Name:  "seal",
		Flags: append([]cli.Flag{&cli.StringFlag{Name: "suite", Value: string(seal.AES256GCM)}}, childIOFlags()...),
		Action: childAction(func(ctx context.Context, cmd *cli.Command) error {
			// What a bidder seals to: their own P-256 certificate and the tender's rescue key.
			now := time.Now()
			ca, err := devpki.NewCA(devpki.ECDSA, "bench CA", now.Add(-time.Hour))
			if err != nil {
				return err
			}
			cert, err := ca.Issue(devpki.ECDSA, "bench bidder", "bench", now.Add(-time.Hour), now.Add(time.Hour))
			if err != nil {
				return err
			}
			bidder, err := seal.NewCertRecipient(cert.Cert)
			if err != nil {
				return err
			}
			rescueKey, err := ecdh.P256().GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			rescue, err := seal.NewRescueRecipient(rescueKey.PublicKey())
			if err != nil {
				return err
			}
			b := seal.Binding{Tender: kaiping.NewID(), Section: kaiping.NewID(), Bidder: kaiping.NewID(), Kind: seal.Technical}
			suite := seal.Suite(cmd.String("suite"))
			var sealed *seal.Sealed
			return runFileChild(cmd, func(w io.Writer, r io.Reader) (err error) {
				sealed, err = seal.Seal(w, r, b, []seal.Recipient{bidder, rescue}, seal.WithSuite(suite))
				return err
			}, func() int64 { return sealed.PlaintextSize })
		}),
	}
}

// sha256ChildCommand hashes a file and writes nothing: the part of sealing no cipher
// choice or core count changes.
func sha256ChildCommand() *cli.Command {
	return &cli.Command{
		Name:  "sha256",
		Flags: []cli.Flag{&cli.StringFlag{Name: "in", Required: true}},
		Action: childAction(func(ctx context.Context, cmd *cli.Command) error {
			var n int64
			secs, err := timeIt(func() error {
				f, err := os.Open(cmd.String("in"))
				if err != nil {
					return err
				}
				defer f.Close()
				n, err = io.Copy(sha256.New(), f)
				return err
			})
			if err != nil {
				return err
			}
			return finishChild(childReport{Bytes: n, Seconds: secs})
		}),
	}
}

func ageChildCommand() *cli.Command {
	return &cli.Command{
		Name:  "age",
		Flags: childIOFlags(),
		Action: childAction(func(ctx context.Context, cmd *cli.Command) error {
			id, err := age.GenerateX25519Identity()
			if err != nil {
				return err
			}
			var n int64
			return runFileChild(cmd, func(w io.Writer, r io.Reader) error {
				aw, err := age.Encrypt(w, id.Recipient())
				if err != nil {
					return err
				}
				if n, err = io.Copy(aw, r); err != nil {
					return err
				}
				return aw.Close()
			}, func() int64 { return n })
		}),
	}
}

// runFileChild times work from opening --in to closing --out and reports it with the
// plaintext size plain returns.
func runFileChild(cmd *cli.Command, work func(w io.Writer, r io.Reader) error, plain func() int64) error {
	secs, err := timeIt(func() error {
		in, err := os.Open(cmd.String("in"))
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(cmd.String("out"))
		if err != nil {
			return err
		}
		if err := work(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		return err
	}
	return finishChild(childReport{Bytes: plain(), Seconds: secs})
}
