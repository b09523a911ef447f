package metrics_test

import (
	"context"
	"fmt"

	"github.com/dadash/dadash/builtins/metrics"
)

// Four 2-d embeddings in two classes: each item's nearest other item is of
// its own class, so recall@1 is 1; mAP_R is 1/2 because the reference's R
// counts the query itself (R = 2, one possible hit).
func ExampleCompute() {
	emb := []float32{1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9}
	labels := []int64{0, 0, 1, 1}
	res, err := metrics.Compute(context.Background(), emb, 4, 2, labels,
		[]string{"e_recall@1", "mAP_R", "map_at_r"}, metrics.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Print(res)
	// Output:
	// e_recall@1 1.000000
	// mAP_R 0.500000
	// map_at_r 1.000000
}
