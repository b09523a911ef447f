// Clustering, ClusteringParameters and kmeans_clustering of the faiss C API.
#include "faiss_c_common.h"

#include <faiss/c_api/Clustering_c.h>

#include <faiss/Clustering.h>

using namespace dadash_faiss;

namespace {

faiss::Clustering* cl(FaissClustering* p) { return reinterpret_cast<faiss::Clustering*>(p); }
const faiss::Clustering* cl(const FaissClustering* p) {
    return reinterpret_cast<const faiss::Clustering*>(p);
}
const faiss::ClusteringIterationStats* st(const FaissClusteringIterationStats* p) {
    return reinterpret_cast<const faiss::ClusteringIterationStats*>(p);
}

// The C struct uses ints where faiss uses bools, so copy field by field.
faiss::ClusteringParameters to_cpp(const FaissClusteringParameters& c) {
    faiss::ClusteringParameters p;
    p.niter = c.niter;
    p.nredo = c.nredo;
    p.verbose = c.verbose != 0;
    p.spherical = c.spherical != 0;
    p.int_centroids = c.int_centroids != 0;
    p.update_index = c.update_index != 0;
    p.frozen_centroids = c.frozen_centroids != 0;
    p.min_points_per_centroid = c.min_points_per_centroid;
    p.max_points_per_centroid = c.max_points_per_centroid;
    p.seed = c.seed;
    p.decode_block_size = c.decode_block_size;
    return p;
}

} // namespace

extern "C" {

void faiss_ClusteringParameters_init(FaissClusteringParameters* c) {
    const faiss::ClusteringParameters p; // faiss's own defaults
    c->niter = p.niter;
    c->nredo = p.nredo;
    c->verbose = p.verbose;
    c->spherical = p.spherical;
    c->int_centroids = p.int_centroids;
    c->update_index = p.update_index;
    c->frozen_centroids = p.frozen_centroids;
    c->min_points_per_centroid = p.min_points_per_centroid;
    c->max_points_per_centroid = p.max_points_per_centroid;
    c->seed = p.seed;
    c->decode_block_size = p.decode_block_size;
}

#define DD_GETTER(C, ty, field, conv) \
    ty faiss_##C##_##field(const Faiss##C* o) { return static_cast<ty>(conv(o)->field); }

DD_GETTER(Clustering, int, niter, cl)
DD_GETTER(Clustering, int, nredo, cl)
DD_GETTER(Clustering, int, verbose, cl)
DD_GETTER(Clustering, int, spherical, cl)
DD_GETTER(Clustering, int, int_centroids, cl)
DD_GETTER(Clustering, int, update_index, cl)
DD_GETTER(Clustering, int, frozen_centroids, cl)
DD_GETTER(Clustering, int, min_points_per_centroid, cl)
DD_GETTER(Clustering, int, max_points_per_centroid, cl)
DD_GETTER(Clustering, int, seed, cl)
DD_GETTER(Clustering, size_t, decode_block_size, cl)
DD_GETTER(Clustering, size_t, d, cl)
DD_GETTER(Clustering, size_t, k, cl)

DD_GETTER(ClusteringIterationStats, float, obj, st)
DD_GETTER(ClusteringIterationStats, double, time, st)
DD_GETTER(ClusteringIterationStats, double, time_search, st)
DD_GETTER(ClusteringIterationStats, double, imbalance_factor, st)
DD_GETTER(ClusteringIterationStats, int, nsplit, st)
#undef DD_GETTER

// Pointers stay valid until the next train() or free of the clustering.
void faiss_Clustering_centroids(FaissClustering* c, float** centroids, size_t* size) {
    std::vector<float>& v = cl(c)->centroids;
    if (centroids) *centroids = v.data();
    if (size) *size = v.size();
}
void faiss_Clustering_iteration_stats(FaissClustering* c,
                                      FaissClusteringIterationStats** stats, size_t* size) {
    auto& v = cl(c)->iteration_stats;
    if (stats) *stats = reinterpret_cast<FaissClusteringIterationStats*>(v.data());
    if (size) *size = v.size();
}

int faiss_Clustering_new(FaissClustering** p, int d, int k) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        *p = reinterpret_cast<FaissClustering*>(new faiss::Clustering(d, k));
    });
}
int faiss_Clustering_new_with_params(FaissClustering** p, int d, int k,
                                     const FaissClusteringParameters* cp) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(p, "output pointer is NULL");
        FAISS_THROW_IF_NOT_MSG(cp, "parameters are NULL");
        *p = reinterpret_cast<FaissClustering*>(new faiss::Clustering(d, k, to_cpp(*cp)));
    });
}
// index assigns points to centroids; it must have dimension d and is left
// holding the final centroids.
int faiss_Clustering_train(FaissClustering* c, idx_t n, const float* x, FaissIndex* index) {
    return guard([&] {
        FAISS_THROW_IF_NOT_MSG(index, "index is NULL");
        cl(c)->train(n, x, *idx(index));
    });
}
void faiss_Clustering_free(FaissClustering* c) { delete cl(c); }

int faiss_kmeans_clustering(size_t d, size_t n, size_t k, const float* x, float* centroids,
                            float* q_error) {
    return guard([&] {
        float err = faiss::kmeans_clustering(d, n, k, x, centroids);
        if (q_error) *q_error = err;
    });
}

} // extern "C"
