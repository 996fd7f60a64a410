package speech

import (
	"strings"
	"testing"
)

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

func TestFuse(t *testing.T) {
	first := []Hyp{{Word: "hello", Start: 0, End: 0.4, Confidence: 0.9}, {Word: "coburn", Start: 0.5, End: 0.9, Confidence: 0.2},
		{Word: "its", Start: 0.9, End: 1.1, Confidence: 0.3}, {Word: "operators", Start: 1.2, End: 1.8, Confidence: 0.8}}
	second := []Hyp{{Word: "yellow", Start: 0, End: 0.4, Confidence: 0.9}, {Word: "kubernetes", Start: 0.5, End: 1.1, Confidence: 0.7},
		{Word: "operators", Start: 1.2, End: 1.8, Confidence: 0.9}}
	var got []string
	for _, h := range Fuse(first, second, 0.5) {
		got = append(got, h.Word)
	}
	if strings.Join(got, " ") != "hello kubernetes operators" {
		t.Errorf("fused %q", got)
	}
}
