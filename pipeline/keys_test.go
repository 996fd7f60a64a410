package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
)

const (
	idA = "01890a5d-ac96-774b-bcce-b302099a8057"
	idB = "0192f0c4-1c1e-7d7e-9a4f-2f5a1b2c3d4e"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	ok := map[string]Key{
		"incoming/acme/" + idA + ".mp4":           {Area: AreaIncoming, Tenant: "acme", MediaID: idA, Name: idA + ".mp4"},
		"incoming/acme/My Talk (1).mp4":           {Area: AreaIncoming, Tenant: "acme", Name: "My Talk (1).mp4"},
		"incoming/acme/sub/réunion.wav":           {Area: AreaIncoming, Tenant: "acme", Name: "sub/réunion.wav"},
		"incoming/acme/" + idA + ".tar.gz":        {Area: AreaIncoming, Tenant: "acme", Name: idA + ".tar.gz"},
		"processed/acme/" + idA + "/original.mp4": {Area: AreaProcessed, Tenant: "acme", MediaID: idA, Name: "original.mp4"},
		"work/t-1/" + idA + "/files/audio.wav":    {Area: AreaWork, Tenant: "t-1", MediaID: idA, Name: "files/audio.wav"},
	}
	for s, want := range ok {
		got, err := ParseKey(s)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", s, err)
			continue
		}
		if got != want {
			t.Errorf("ParseKey(%q) = %+v, want %+v", s, got, want)
		}
		if got.String() != s {
			t.Errorf("ParseKey(%q).String() = %q", s, got.String())
		}
	}
	bad := map[string]string{
		"":                                                  "empty",
		"/incoming/acme/x.mp4":                              "absolute",
		"incoming/acme":                                     "want <area>/<tenant>/<name>",
		"incoming/acme/":                                    "no name",
		"incoming/../x.mp4":                                 "tenant id",
		"incoming/acme/../other/x.mp4":                      `".." is not a name`,
		"incoming/acme/./x.mp4":                             `"." is not a name`,
		"incoming/acme//x.mp4":                              "empty",
		"incoming/acme/a\\b.mp4":                            "backslash",
		"incoming/acme/a\x00.mp4":                           "NUL",
		"incoming/acme/a\x07.mp4":                           "control character",
		"incoming/acme/\xff.mp4":                            "not UTF-8",
		"incoming/Acme/x.mp4":                               "tenant id",
		"incoming/-acme/x.mp4":                              "tenant id",
		"outgoing/acme/x.mp4":                               "not under incoming/",
		"dead-letters/x.json":                               "want <area>/<tenant>/<name>",
		"processed/acme/original.mp4":                       "want processed/<tenant>/<media id>/<name>",
		"processed/acme/not-an-id/original.mp4":             "media id",
		"processed/acme/" + strings.ToUpper(idA) + "/x":     "media id",
		"work/acme/" + idA + "/..":                          `".." is not a name`,
		"incoming/acme/" + strings.Repeat("a", MaxKeyBytes): "bytes, at most",
	}
	for s, want := range bad {
		_, err := ParseKey(s)
		if err == nil || !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey(%q) = %v, want Invalid naming %q", s, err, want)
		}
	}
}

func TestBuildKeys(t *testing.T) {
	t.Parallel()
	k, err := UploadKey("acme", idA, "mp4")
	if err != nil || k.String() != "incoming/acme/"+idA+".mp4" || !k.Uploaded() {
		t.Fatalf("UploadKey = %+v %v", k, err)
	}
	if k, err := ProcessedKey("acme", idA, "transcript.json"); err != nil || k.String() != "processed/acme/"+idA+"/transcript.json" {
		t.Fatalf("ProcessedKey = %v %v", k, err)
	}
	if k, err := WorkKey("acme", idA, "files/audio.wav"); err != nil || k.String() != "work/acme/"+idA+"/files/audio.wav" {
		t.Fatalf("WorkKey = %v %v", k, err)
	}
	for name, f := range map[string]func() (Key, error){
		"tenant with ..":    func() (Key, error) { return UploadKey("../../tmp", idA, "mp4") },
		"tenant path":       func() (Key, error) { return WorkKey("a/b", idA, "x") },
		"id not a uuid":     func() (Key, error) { return ProcessedKey("acme", "../"+idA, "x") },
		"name with ..":      func() (Key, error) { return WorkKey("acme", idA, "files/../../x") },
		"absolute name":     func() (Key, error) { return WorkKey("acme", idA, "/etc/passwd") },
		"extension":         func() (Key, error) { return UploadKey("acme", idA, "mp4/../x") },
		"empty media id":    func() (Key, error) { return ProcessedKey("acme", "", "x") },
		"backslash in name": func() (Key, error) { return ProcessedKey("acme", idA, `..\x`) },
	} {
		if k, err := f(); !errors.Is(err, errcode.Invalid) {
			t.Errorf("%s: built %q, %v", name, k, err)
		}
	}
}

func TestMediaIDs(t *testing.T) {
	t.Parallel()
	up, _ := ParseKey("incoming/acme/" + idA + ".mp4")
	if MediaIDOf(up, "etag") != idA {
		t.Fatal("an upload's media id is its name")
	}
	dropped, _ := ParseKey("incoming/acme/talk.mp4")
	id := MediaIDOf(dropped, `"abc"`)
	if id != MediaIDOf(dropped, "abc") || id != DroppedMediaID("incoming/acme/talk.mp4", "abc") {
		t.Fatal("a dropped file's id ignores the ETag's quotes")
	}
	if CheckMediaID(id) != nil || id == MediaIDOf(dropped, "abd") {
		t.Fatalf("dropped id %q", id)
	}
}

// FuzzParseKey checks that a parsed key prints back as the same string and
// that whatever parses has no component that could leave its folder.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"incoming/acme/" + idA + ".mp4", "incoming/acme/x/y.wav", "processed/acme/" + idA + "/original.mp4",
		"work/acme/" + idB + "/files/keyframe-0001.png", "incoming/acme/../b/x", "work/a/" + idA + "/..", "incoming/a/\\x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			if !errors.Is(err, errcode.Invalid) {
				t.Fatalf("ParseKey(%q): error without the Invalid code: %v", s, err)
			}
			return
		}
		if k.String() != s {
			t.Fatalf("ParseKey(%q).String() = %q", s, k.String())
		}
		for _, c := range strings.Split(s, "/") {
			if c == "" || c == "." || c == ".." || strings.ContainsAny(c, "\\\x00") {
				t.Fatalf("ParseKey(%q) accepted component %q", s, c)
			}
		}
		k2, err := ParseKey(k.String())
		if err != nil || k2 != k {
			t.Fatalf("round trip of %q: %+v %v", s, k2, err)
		}
	})
}

// FuzzBuildKey checks Build → Parse: a key built from any parts parses
// back into the same parts.
func FuzzBuildKey(f *testing.F) {
	f.Add(0, "acme", idA, "transcript.json")
	f.Add(1, "acme", idB, "files/audio.wav")
	f.Add(2, "acme", idA, "mp4")
	f.Add(1, "../x", idA, "a/../b")
	f.Fuzz(func(t *testing.T, area int, tenant, id, name string) {
		var k Key
		var err error
		switch area % 3 {
		case 0:
			k, err = ProcessedKey(tenant, id, name)
		case 1:
			k, err = WorkKey(tenant, id, name)
		default:
			k, err = UploadKey(tenant, id, name)
		}
		if err != nil {
			return
		}
		got, err := ParseKey(k.String())
		if err != nil {
			t.Fatalf("built %q, which does not parse: %v", k, err)
		}
		if got != k {
			t.Fatalf("built %+v, parsed back %+v", k, got)
		}
	})
}

func BenchmarkParseKey(b *testing.B) {
	keys := []string{"incoming/acme/" + idA + ".mp4", "incoming/acme/My Talk (1).mp4", "work/acme/" + idA + "/files/keyframe-0001.png"}
	for b.Loop() {
		for _, k := range keys {
			if _, err := ParseKey(k); err != nil {
				b.Fatal(err)
			}
		}
	}
}
