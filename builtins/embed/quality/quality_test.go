package quality

import (
	"math"
	"testing"
)

// refData is the fixed case whose trustworthiness scikit-learn 1.2.1
// computed by hand: sklearn.manifold.trustworthiness(X, Y, n_neighbors=5)
// = 0.45826923076923076 and trustworthiness(X, X[:, :2], n_neighbors=7)
// = 0.9452380952380952.
func refData() (x, y, x2 []float64, n, d int) {
	n, d = 60, 5
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x = append(x, float64(i%3)*2+math.Sin(float64(i)*1.7+float64(j)*0.3))
		}
		s := 1 + float64(i)/60
		y = append(y, math.Cos(float64(i))*s, math.Sin(1.3*float64(i))*s)
		x2 = append(x2, x[i*d], x[i*d+1])
	}
	return
}

func TestTrustworthiness(t *testing.T) {
	x, y, x2, n, d := refData()
	if got := Trustworthiness(x, d, y, 2, n, 5); math.Abs(got-0.45826923076923076) > 1e-12 {
		t.Errorf("trustworthiness(X, Y, 5) = %.17g, scikit-learn 0.45826923076923076", got)
	}
	if got := Trustworthiness(x, d, x2, 2, n, 7); math.Abs(got-0.9452380952380952) > 1e-12 {
		t.Errorf("trustworthiness(X, X[:, :2], 7) = %.17g, scikit-learn 0.9452380952380952", got)
	}
	if got := Trustworthiness(x, d, x, d, n, 5); got != 1 {
		t.Errorf("trustworthiness of X itself = %v", got)
	}
}

func TestClassNeighbourFraction(t *testing.T) {
	// Two tight groups far apart: every neighbour shares the label.
	y := []float64{0, 0, 0, 1, 1, 0, 100, 100, 100, 101, 101, 100}
	labels := []int{0, 0, 0, 1, 1, 1}
	if f := ClassNeighbourFraction(y, 6, 2, labels, 2); f != 1 {
		t.Errorf("separated: %v", f)
	}
	// Labels that ignore the groups: one in two of the neighbours.
	mixed := []int{0, 1, 0, 1, 0, 1}
	if f := ClassNeighbourFraction(y, 6, 2, mixed, 2); math.Abs(f-1.0/3) > 1e-12 {
		t.Errorf("mixed: %v, want 1/3", f)
	}
	x, labels2 := Clusters(100, 4, 5, 1, 1)
	if len(x) != 400 || labels2[7] != 2 {
		t.Errorf("Clusters: %d values, label[7] = %d", len(x), labels2[7])
	}
}
