package crashpoint

import "testing"

func TestParse(t *testing.T) {
	t.Parallel()
	m := parse(" review.decided, ,review.resumed ")
	if len(m) != 2 || !m["review.decided"] || !m["review.resumed"] {
		t.Fatalf("parse = %v", m)
	}
	if len(parse("")) != 0 {
		t.Fatal("an empty variable arms a point")
	}
}

func TestUnarmedPointReturns(t *testing.T) {
	t.Parallel()
	if armed["crashpoint.test"] {
		t.Skip("armed in this environment")
	}
	Reach("crashpoint.test") // returns: nothing armed it
}
