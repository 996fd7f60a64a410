package speech

import "testing"

func TestFilenameWords(t *testing.T) {
	for in, want := range map[string]string{
		"Kubernetes operators - lecture 3.mp4":          "Kubernetes operators lecture",
		"sense_and_sensibility_01_austen_64kb-0870.wav": "sense and sensibility austen",
		"IMG_2034.MOV": "",
		"3f2a9c1e-7b4d-4e8a-9c3d-deadbeefcafe.mp4": "",
		"MediaPipelinesTalk.webm":                  "Media Pipelines Talk",
		`C:\talks\Front_Center.wav`:                "Front Center",
		"AWS re:Invent keynote.mkv":                "AWS Invent keynote",
		"":                                         "",
		"a.b":                                      "",
	} {
		if got := FilenameWords(in); got != want {
			t.Errorf("FilenameWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzFilenameWords(f *testing.F) {
	f.Add("Kubernetes operators - lecture 3.mp4")
	f.Add("ÄÖÜ_straße_MixedCASEWord.tar.gz")
	f.Fuzz(func(t *testing.T, s string) {
		_ = FilenameWords(s)
	})
}

func TestTeaches(t *testing.T) {
	if teaches("Front Center") || teaches("sense and sensibility austen") {
		t.Error("a file name alone taught a second pass")
	}
	if !teaches("Coral Reefs Under Pressure\nMarine Biology Seminar\nCoral bleaching\nHeat stress expels the algae") {
		t.Error("slides did not teach a second pass")
	}
}
