/* Smoke test of dadash's faiss C API (not built by build.sh). Build with:
 *   gcc -std=c11 -I. test_faiss_c.c -L$LIBDIR -Wl,-rpath,$LIBDIR -lfaiss_c -lpthread -lm
 */
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Clustering_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVFFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include "dadash_faiss_extra.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                               \
        }                                                             \
    } while (0)
#define OK_(call) CHECK((call) == 0)

static int has_error(void) {
    const char* e = faiss_get_last_error();
    return e != NULL && e[0] != '\0';
}

static void* error_in_other_thread(void* arg) {
    const char* e = faiss_get_last_error(); /* this thread never failed */
    return (e != NULL && strstr(e, "Nonsense") != NULL) ? arg : NULL;
}

enum { D = 4, N = 5 };

static void test_flat(void) {
    float xb[N * D];
    for (int i = 0; i < N * D; i++) xb[i] = (float)(i / D) + 0.1f * (float)(i % D);

    FaissIndexFlatL2* index = NULL;
    OK_(faiss_IndexFlatL2_new_with(&index, D));
    OK_(faiss_Index_add(index, N, xb));
    CHECK(faiss_Index_ntotal(index) == N);
    CHECK(faiss_Index_d(index) == D);
    CHECK(faiss_Index_is_trained(index));
    CHECK(faiss_Index_metric_type(index) == METRIC_L2);
    CHECK(faiss_IndexFlat_cast(index) != NULL);
    CHECK(faiss_IndexIVF_cast(index) == NULL);

    float* xbp;
    size_t xbn;
    faiss_IndexFlat_xb(index, &xbp, &xbn);
    CHECK(xbn == N * D && xbp[7] == xb[7]);

    /* nearest neighbours of stored vector 3 are 3 (distance 0), then 2 or 4 */
    float dist[2];
    idx_t lab[2];
    OK_(faiss_Index_search(index, 1, xb + 3 * D, 2, dist, lab));
    printf("search: labels %ld %ld distances %g %g\n", (long)lab[0], (long)lab[1], dist[0], dist[1]);
    CHECK(lab[0] == 3 && dist[0] == 0.0f && (lab[1] == 2 || lab[1] == 4));

    idx_t a;
    OK_(faiss_Index_assign(index, 1, xb + 1 * D, &a, 1));
    CHECK(a == 1);

    float rec[2 * D];
    OK_(faiss_Index_reconstruct(index, 2, rec));
    CHECK(memcmp(rec, xb + 2 * D, sizeof(float) * D) == 0);
    OK_(faiss_Index_reconstruct_n(index, 3, 2, rec));
    CHECK(memcmp(rec, xb + 3 * D, sizeof(float) * 2 * D) == 0);

    /* range search: squared L2 between consecutive vectors is 4, so radius 5
     * around vector 0 finds 0 and 1 */
    FaissRangeSearchResult* rsr = NULL;
    OK_(faiss_RangeSearchResult_new(&rsr, 1));
    OK_(faiss_Index_range_search(index, 1, xb, 5.0f, rsr));
    size_t* lims;
    idx_t* rl;
    float* rd;
    faiss_RangeSearchResult_lims(rsr, &lims);
    faiss_RangeSearchResult_labels(rsr, &rl, &rd);
    CHECK(faiss_RangeSearchResult_nq(rsr) == 1 && lims[1] - lims[0] == 2);
    faiss_RangeSearchResult_free(rsr);

    /* remove ids via both selector kinds, as go-faiss does (freed as IDSelector) */
    FaissIDSelectorRange* range = NULL;
    size_t removed = 0;
    OK_(faiss_IDSelectorRange_new(&range, 0, 2));
    OK_(faiss_Index_remove_ids(index, (FaissIDSelector*)range, &removed));
    CHECK(removed == 2 && faiss_Index_ntotal(index) == 3);
    faiss_IDSelector_free((FaissIDSelector*)range);
    FaissIDSelectorBatch* batch = NULL;
    idx_t ids[] = {0, 99};
    OK_(faiss_IDSelectorBatch_new(&batch, 2, ids));
    OK_(faiss_Index_remove_ids(index, (FaissIDSelector*)batch, &removed));
    CHECK(removed == 1 && faiss_Index_ntotal(index) == 2);
    faiss_IDSelector_free((FaissIDSelector*)batch);

    /* a plain flat index does not support add_with_ids: a faiss error */
    int rc = faiss_Index_add_with_ids(index, 1, xb, ids);
    printf("add_with_ids on IndexFlatL2: rc %d, error: %s\n", rc, faiss_get_last_error());
    CHECK(rc == FAISS_EXCEPT && has_error());
    /* 2^63 bytes exceed vector::max_size: std::length_error, a std::exception */
    rc = faiss_Index_add(index, (idx_t)1 << 59, xb);
    printf("add of 2^59 vectors: rc %d, error: %s\n", rc, faiss_get_last_error());
    CHECK(rc == STD_EXCEPT && has_error() && faiss_Index_ntotal(index) == 2);

    OK_(faiss_Index_reset(index));
    CHECK(faiss_Index_ntotal(index) == 0);
    faiss_Index_free(index);

    FaissIndexFlat* ip = NULL;
    OK_(faiss_IndexFlat_new_with(&ip, D, METRIC_INNER_PRODUCT));
    CHECK(faiss_Index_metric_type(ip) == METRIC_INNER_PRODUCT && faiss_IndexFlatIP_cast(ip) == NULL);
    faiss_IndexFlat_free(ip);
    OK_(faiss_IndexFlatIP_new_with(&ip, D));
    CHECK(faiss_IndexFlatIP_cast(ip) != NULL);
    faiss_Index_free(ip);
    OK_(faiss_IndexFlat_new(&ip));
    faiss_Index_free(ip);
}

/* two well separated blobs in 2-D, around (0,0) and (10,10) */
enum { KN = 400, KD = 2, K = 2 };
static float kx[KN * KD];

static int near(const float* c, float v) { return fabsf(c[0] - v) < 1 && fabsf(c[1] - v) < 1; }
static int blobs_found(const float* c) {
    return (near(c, 0) && near(c + 2, 10)) || (near(c, 10) && near(c + 2, 0));
}

static void test_kmeans(void) {
    srand(1);
    for (int i = 0; i < KN; i++) {
        float base = (i % 2) ? 10.0f : 0.0f;
        kx[i * KD] = base + (float)rand() / RAND_MAX - 0.5f;
        kx[i * KD + 1] = base + (float)rand() / RAND_MAX - 0.5f;
    }

    float cent[K * KD], err = -1;
    OK_(faiss_kmeans_clustering(KD, KN, K, kx, cent, &err));
    printf("kmeans_clustering: centroids (%.2f,%.2f) (%.2f,%.2f) error %.2f\n",
           cent[0], cent[1], cent[2], cent[3], err);
    CHECK(blobs_found(cent) && err >= 0);

    FaissClusteringParameters cp;
    faiss_ClusteringParameters_init(&cp);
    CHECK(cp.niter > 0 && cp.nredo == 1);
    cp.niter = 15;
    cp.seed = 42;
    FaissClustering* cl = NULL;
    OK_(faiss_Clustering_new_with_params(&cl, KD, K, &cp));
    CHECK(faiss_Clustering_niter(cl) == 15 && faiss_Clustering_seed(cl) == 42);
    CHECK(faiss_Clustering_d(cl) == KD && faiss_Clustering_k(cl) == K);
    CHECK(faiss_Clustering_nredo(cl) == 1 && faiss_Clustering_verbose(cl) == 0);
    CHECK(faiss_Clustering_spherical(cl) == 0);

    FaissIndexFlatL2* assign = NULL;
    OK_(faiss_IndexFlatL2_new_with(&assign, KD));
    OK_(faiss_Clustering_train(cl, KN, kx, assign));
    float* c;
    size_t cn;
    faiss_Clustering_centroids(cl, &c, &cn);
    FaissClusteringIterationStats* stats;
    size_t ns;
    faiss_Clustering_iteration_stats(cl, &stats, &ns);
    /* the stats type is opaque in C, so only the first entry is reachable */
    printf("Clustering_train: %zu values, centroids (%.2f,%.2f) (%.2f,%.2f), %zu iterations, first obj %.2f\n",
           cn, c[0], c[1], c[2], c[3], ns, ns ? faiss_ClusteringIterationStats_obj(stats) : -1.0f);
    CHECK(cn == K * KD && blobs_found(c) && ns == 15);
    CHECK(faiss_Index_ntotal(assign) == K); /* the index ends up holding the centroids */
    faiss_Clustering_free(cl);

    OK_(faiss_Clustering_new(&cl, KD, K));
    CHECK(faiss_Clustering_train(cl, KN, kx, NULL) != 0 && has_error()); /* NULL index */
    faiss_Clustering_free(cl);
    faiss_Index_free(assign);
}

static void test_ivf_and_errors(void) {
    FaissIndexFlatL2* quantizer = NULL;
    FaissIndexIVFFlat* ivf = NULL;
    OK_(faiss_IndexFlatL2_new_with(&quantizer, KD));
    OK_(faiss_IndexIVFFlat_new_with_metric(&ivf, quantizer, KD, 2, METRIC_L2));
    CHECK(!faiss_Index_is_trained(ivf));

    /* adding to an untrained IVF index is a faiss error */
    int rc = faiss_Index_add(ivf, KN, kx);
    printf("add to untrained IVF: rc %d, error: %s\n", rc, faiss_get_last_error());
    CHECK(rc == FAISS_EXCEPT && has_error());

    OK_(faiss_Index_train(ivf, KN, kx));
    OK_(faiss_Index_add(ivf, KN, kx));
    CHECK(faiss_IndexIVF_cast(ivf) != NULL && faiss_IndexIVF_nlist(ivf) == 2);
    faiss_IndexIVF_set_nprobe(ivf, 2);
    CHECK(faiss_IndexIVF_nprobe(ivf) == 2 && faiss_IndexIVFFlat_nprobe(ivf) == 2);
    CHECK(faiss_IndexIVF_quantizer(ivf) == quantizer);

    FaissParameterSpace* ps = NULL;
    OK_(faiss_ParameterSpace_new(&ps));
    OK_(faiss_ParameterSpace_set_index_parameter(ps, ivf, "nprobe", 1));
    CHECK(faiss_IndexIVF_nprobe(ivf) == 1);
    CHECK(faiss_ParameterSpace_set_index_parameter(ps, ivf, "no_such_param", 1) != 0 && has_error());
    faiss_ParameterSpace_free(ps);

    float dist;
    idx_t lab;
    OK_(faiss_Index_search(ivf, 1, kx + 6 * KD, 1, &dist, &lab));
    CHECK(lab == 6 && dist == 0.0f);

    /* write / read round trip */
    const char* path = "/tmp/test_faiss_c.index";
    OK_(faiss_write_index_fname(ivf, path));
    FaissIndex* back = NULL;
    OK_(faiss_read_index_fname(path, 0, &back));
    CHECK(faiss_Index_ntotal(back) == KN && faiss_IndexIVFFlat_cast(back) != NULL);
    faiss_Index_free(back);
    remove(path);
    CHECK(faiss_read_index_fname("/nonexistent/x.index", 0, &back) != 0 && has_error());

    faiss_Index_free(ivf); /* does not own the quantizer */
    faiss_Index_free(quantizer);

    /* a bad index_factory description */
    FaissIndex* bad = NULL;
    rc = faiss_index_factory(&bad, 8, "Nonsense123", METRIC_L2);
    printf("index_factory(\"Nonsense123\"): rc %d, error: %s\n", rc, faiss_get_last_error());
    CHECK(rc != 0 && has_error());

    /* a thread with no failure of its own sees the latest failure */
    pthread_t t;
    void* found = NULL;
    static int token;
    pthread_create(&t, NULL, error_in_other_thread, &token);
    pthread_join(t, &found);
    CHECK(found != NULL);

    /* a good factory string still works after an error */
    FaissIndex* good = NULL;
    OK_(faiss_index_factory(&good, 8, "Flat", METRIC_INNER_PRODUCT));
    CHECK(faiss_IndexFlat_cast(good) != NULL);
    faiss_Index_free(good);
}

int main(void) {
    CHECK(faiss_get_last_error() == NULL); /* nothing has failed yet */
    CHECK(faiss_set_omp_threads(2) == 2);
    test_flat();
    test_kmeans();
    test_ivf_and_errors();
    if (failures) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
